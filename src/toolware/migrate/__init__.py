"""``toolware migrate``: move code written against the legacy V1 middleware to toolware.

Built on libcst, so formatting and comments are kept. Always rewritten: the legacy
``langswarm`` imports (to :mod:`toolware.compat.v1`, see :mod:`toolware.migrate.imports`).
Opt-in per class (:class:`MigrateOptions`): V1 handler classes to native plugin registrations
(:mod:`toolware.migrate.handlers`) and ``to_middleware`` call sites to ``pipeline.invoke``
(:mod:`toolware.migrate.call_sites`). What cannot be rewritten is listed as :class:`Finding`
objects with ``path:line`` and the suggested replacement. Running it twice changes nothing the
second time.

Needs libcst: ``pip install 'toolware[migrate]'``.
"""

from __future__ import annotations

try:
    import libcst as _libcst  # noqa: F401
except ImportError as exc:  # pragma: no cover - run in a subprocess by tests/cli/test_migrate.py
    raise ImportError("toolware.migrate needs libcst: pip install 'toolware[migrate]'") from exc

from toolware.migrate.findings import Finding
from toolware.migrate.options import MigrateOptions
from toolware.migrate.runner import FileOutcome, MigrationRun, migrate_paths, migrate_source

__all__ = [
    "FileOutcome",
    "Finding",
    "MigrateOptions",
    "MigrationRun",
    "migrate_paths",
    "migrate_source",
]
