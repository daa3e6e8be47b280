"""``python -m tui``: the same entry point as the ``gemini-live`` console script."""

from tui.cli import main

raise SystemExit(main())
