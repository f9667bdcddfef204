"""Guard console accounts kept at the office and pushed to the gates (``guards push``)."""
