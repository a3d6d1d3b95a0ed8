"""``python -m engine.cli``: the engine's commands (the console script adds the API's)."""

import sys

from engine.cli.main import main

sys.exit(main())
