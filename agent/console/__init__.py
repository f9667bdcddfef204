"""The guard console: a web page served by the agent on the gate's LAN (``[console]``).

A face, like the CLI: it reaches the gate only through ``ConsolePort`` and runs as
a runner part on threads the runner owns.
"""
