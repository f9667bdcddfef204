"""The office side: the tools an installer or a small office runs against its gates."""
