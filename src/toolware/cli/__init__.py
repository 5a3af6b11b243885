"""The ``toolware`` command line: ``toolware demo``, ``toolware list``, ``toolware call``.

It needs ``rich``, which only the ``cli`` extra installs (``pip install 'toolware[cli]'``):
the library itself never imports it. :func:`run` is the console script; without the extra it
says how to install it and exits 1 instead of showing an ``ImportError`` traceback.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence

__all__ = ["MISSING_EXTRA", "run"]

MISSING_EXTRA = (
    "toolware: the command line and the demo need the 'cli' extra (rich); "
    "install it with: pip install 'toolware[cli]'\n"
)


def run(argv: Sequence[str] | None = None) -> int:
    """Run :func:`toolware.cli.main.main` as a process would; returns the exit status.

    After a call that timed out, a synchronous tool may still be running on a worker thread,
    and Python would wait for it at exit (it cannot interrupt a thread). The command has
    answered by then, so the process ends at once with that status instead.
    """
    try:
        from toolware.cli.main import main
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "rich":
            raise
        sys.stderr.write(MISSING_EXTRA)
        return 1
    code = main(argv)
    _exit_if_threads_remain(code)
    return code


def _exit_if_threads_remain(code: int) -> None:
    """End the process now, with ``code``, if a non-daemon thread would hold it open.

    Only then: ``os._exit`` skips ``atexit`` handlers, so it is kept for the case it fixes.
    """
    main_thread = threading.main_thread()
    if any(t is not main_thread and not t.daemon for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
