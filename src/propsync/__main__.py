"""`python -m propsync` runs the CLI."""

from propsync.cli import main

main()
