"""``python -m toolware.cli``: the same as the ``toolware`` command."""

import sys

from toolware.cli.main import main

sys.exit(main())
