"""`python -m termkeep` runs the same entry point as the `termkeep` console script."""

from termkeep.cli import main

raise SystemExit(main())
