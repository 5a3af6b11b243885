"""Reach ``tests/redis_support.py`` from a script run out of a checkout.

Importing this module puts the repository root on ``sys.path``, so that
``from tests.redis_support import RedisServer`` works in ``benchmarks/`` and ``chaos/`` scripts
(run as ``python benchmarks/x.py``, where only the script's own directory is on the path).
``require_redis_server()`` ends the script with one line naming ``make redis-server`` (exit
status 2: it cannot run) when no ``redis-server`` is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

__all__ = ["ROOT", "require_redis_server"]

MISSING = "redis-server is not installed: run `make redis-server` (Debian/Ubuntu), then try again"


def require_redis_server() -> None:
    """Exit with status 2 and one line naming ``make redis-server`` when it is not installed."""
    from tests.redis_support import find_redis_server

    if find_redis_server() is None:
        print(MISSING, file=sys.stderr)
        raise SystemExit(2)
