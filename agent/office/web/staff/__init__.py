"""Staff accounts: roles (groups), per-account lockout, each person's language."""
