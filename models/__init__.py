"""Messages and records shared by every layer. Imports nothing of ours."""
