"""Access cards at the desk: issue, re-issue, report lost, return, revoke, and delivery to gates."""
