"""`python -m runner` is the `apiflow` command."""

from runner.cli import command

command()
