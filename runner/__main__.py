"""`python -m runner` is the `apiflow` command."""

from runner.cli import main

main()
