"""The fleet of gates and the live event view (issue 18 item 7)."""
