"""Cases handled to the end: complaints first (issue 19)."""
