"""`python -m ingest` runs the pmkb CLI."""

from .cli import main

main()
