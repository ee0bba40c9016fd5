"""`python -m engine ...`: the engine's command-line face (see engine/cli.py)."""

import sys

from engine.cli import main

sys.exit(main())
