"""Visitor passes issued at the office desk (issue 18 item 6)."""
