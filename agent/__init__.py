"""gate-agent: the access-control edge agent at a compound's gate."""

__version__ = "0.1.0"
