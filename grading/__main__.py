"""Lets `python -m grading ...` run the command line (see `grading.cli`)."""

from grading.cli import main

raise SystemExit(main())
