"""``python -m engine.simulator --port 0 ...``."""

import sys

from engine.simulator import main

sys.exit(main())
