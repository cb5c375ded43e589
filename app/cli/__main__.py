"""`python -m app.cli …` runs the `aeontel` command (app/devstack.py uses it before the entry point is installed)."""

from app.cli.admin import main

main()
