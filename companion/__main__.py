"""`python -m companion`: the `companion` command, for an environment without its script on PATH."""

from companion.cli import main

raise SystemExit(main())
