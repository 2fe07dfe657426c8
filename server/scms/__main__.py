"""`python -m scms`: the same as the `scms` command."""

from scms.cli import main

raise SystemExit(main())
