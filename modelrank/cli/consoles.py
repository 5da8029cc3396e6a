"""The two consoles every command prints to: results on stdout, progress and notes on stderr."""

from rich.console import Console

out = Console()
err = Console(stderr=True)
