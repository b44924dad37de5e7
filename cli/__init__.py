"""`vpdn`, the staff's command line (`cli.main`)."""

from cli.main import app, main

__all__ = ["app", "main"]
