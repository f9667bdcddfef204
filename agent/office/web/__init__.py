"""The property office's staff workplace: a Django project (register, staff, audit log).

Started by ``gate-office web``; :mod:`agent.office.web.boot` prepares keys, catalogues and
the settings before Django is set up.
"""
