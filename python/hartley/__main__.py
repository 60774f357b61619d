"""``python -m hartley``: the same as the ``hartley`` command."""

import sys

from hartley.cli import main

sys.exit(main())
