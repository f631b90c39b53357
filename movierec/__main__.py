"""Lets `python -m movierec ...` run the command line (see `movierec.cli`)."""

from movierec.cli import main

raise SystemExit(main())
