"""``python -m toolware.cli``: the same as the ``toolware`` command."""

import sys

from toolware.cli import run

sys.exit(run())
