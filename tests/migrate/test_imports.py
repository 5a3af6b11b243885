"""Legacy langswarm imports become toolware.compat.v1 imports, aliases and comments kept."""

from __future__ import annotations

import textwrap

import pytest

from toolware.migrate import migrate_source
from toolware.migrate.imports import LEGACY_MODULES, TARGET


def _migrate(source: str) -> tuple[str, list[str]]:
    outcome = migrate_source(textwrap.dedent(source), "m.py")
    return outcome.after, [f"{f.line}: {f.message} | {f.suggestion}" for f in outcome.findings]


@pytest.mark.parametrize(
    ("module", "name"),
    [(module, next(iter(names))) for module, names in sorted(LEGACY_MODULES.items())],
)
def test_each_legacy_module_maps_to_the_compat_package(module: str, name: str) -> None:
    """The four legacy paths, each with its one public name."""
    after, findings = _migrate(f"from {module} import {name}\n")
    assert (after, findings) == (f"from {TARGET} import {name}\n", [])


def test_parenthesised_lists_aliases_and_comments_are_kept() -> None:
    """Only the module changes: the layout, the alias and both comments stay."""
    after, findings = _migrate(
        """\
        from langswarm.synapse.registry.tools import (  # the registry
            ToolRegistry as Tools,  # renamed here
        )
        """
    )
    assert after == (
        "from toolware.compat.v1 import (  # the registry\n"
        "    ToolRegistry as Tools,  # renamed here\n"
        ")\n"
    )
    assert findings == []


def test_import_as_keeps_the_alias() -> None:
    """``import x.y as z`` binds z to the compat package, which has the same names."""
    after, _ = _migrate("import langswarm.memory.registry.rags as rags\nrags.RAGRegistry()\n")
    assert after == "import toolware.compat.v1 as rags\nrags.RAGRegistry()\n"


def test_plain_import_renames_the_dotted_uses() -> None:
    """Without an alias the module is used by its dotted name: those uses are renamed too."""
    after, findings = _migrate(
        """\
        import os, langswarm.cortex.registry.plugins
        registry = langswarm.cortex.registry.plugins.PluginRegistry()
        other = os.path.join("a", "b")
        """
    )
    assert after == (
        "import os, toolware.compat.v1\n"
        "registry = toolware.compat.v1.PluginRegistry()\n"
        'other = os.path.join("a", "b")\n'
    )
    assert findings == []


def test_a_legacy_module_imported_from_its_package() -> None:
    """``from langswarm.synapse.registry import tools`` binds the same name to the compat module."""
    after, _ = _migrate(
        "from langswarm.synapse.registry import tools\n"
        "from langswarm.core.wrappers import middleware as mw\n"
    )
    assert after == (
        "from toolware.compat import v1 as tools\nfrom toolware.compat import v1 as mw\n"
    )


def test_names_without_a_counterpart_are_reported_and_left() -> None:
    """A name the compat package does not have is not guessed at: the line is reported."""
    source = "from langswarm.synapse.registry.tools import ToolRegistry, BaseTool\n"
    after, findings = _migrate(source)
    assert after == source
    assert findings == [
        "1: BaseTool from langswarm.synapse.registry.tools has no counterpart in "
        "toolware.compat.v1 | from toolware.compat.v1 import ToolRegistry, and replace the "
        "rest by hand"
    ]


def test_star_imports_and_other_langswarm_modules_are_reported() -> None:
    """Each unknown langswarm import is listed with its line; nothing else is touched."""
    source = textwrap.dedent(
        """\
        import json
        from langswarm.core.wrappers.middleware import *
        from langswarm.core.utils import helper
        import langswarm.core.config
        from langswarm.synapse.registry import tools, extras
        from langswarm.core import *
        """
    )
    after, findings = _migrate(source)
    assert after == source
    assert findings == [
        "2: star import from langswarm.core.wrappers.middleware | "
        "from toolware.compat.v1 import MiddlewareMixin",
        "3: import from langswarm.core.utils, which has no counterpart in toolware.compat.v1 | "
        "import MiddlewareMixin, ToolRegistry, RAGRegistry or PluginRegistry from "
        "toolware.compat.v1",
        "4: import langswarm.core.config, which has no counterpart in toolware.compat.v1 | "
        "import toolware.compat.v1 and use its MiddlewareMixin, ToolRegistry, RAGRegistry, "
        "PluginRegistry",
        "5: import from langswarm.synapse.registry, which has no counterpart in "
        "toolware.compat.v1 | import MiddlewareMixin, ToolRegistry, RAGRegistry or "
        "PluginRegistry from toolware.compat.v1",
        "6: star import from langswarm.core | import the names you use",
    ]


def test_relative_and_unrelated_imports_are_untouched() -> None:
    """Only absolute langswarm imports are ours."""
    source = "from . import tools\nfrom .langswarm import x\nimport langswarmish\n"
    assert _migrate(source) == (source, [])


def test_a_module_used_for_a_name_without_a_counterpart_is_reported_and_left() -> None:
    """``langswarm.core.wrappers.middleware.AgentWrapper`` (or ``mw.AgentWrapper``) would be
    ``toolware.compat.v1.AgentWrapper``, an AttributeError: as for ``from ... import
    AgentWrapper``, that import and its uses are left, and each such use is reported."""
    source = textwrap.dedent(
        """\
        import langswarm.core.wrappers.middleware
        import langswarm.synapse.registry.tools as tools
        from langswarm.memory.registry import rags
        import langswarm.cortex.registry.plugins
        from langswarm.core.wrappers import middleware as mw


        class Agent(langswarm.core.wrappers.middleware.MiddlewareMixin):
            wrapper = langswarm.core.wrappers.middleware.AgentWrapper


        base = tools.BaseTool
        retriever = rags.RAGRegistry()
        plugins = langswarm.cortex.registry.plugins.PluginRegistry()
        agent = mw.AgentWrapper()
        """
    )
    after, findings = _migrate(source)
    assert after == source.replace(
        "from langswarm.memory.registry import rags", "from toolware.compat import v1 as rags"
    ).replace("langswarm.cortex.registry.plugins", "toolware.compat.v1")
    assert findings == [
        "9: AgentWrapper from langswarm.core.wrappers.middleware has no counterpart in "
        "toolware.compat.v1 | replace it by hand, then import the module from "
        "toolware.compat.v1 (MiddlewareMixin)",
        "12: BaseTool from langswarm.synapse.registry.tools has no counterpart in "
        "toolware.compat.v1 | replace it by hand, then import the module from "
        "toolware.compat.v1 (ToolRegistry)",
        "15: AgentWrapper from langswarm.core.wrappers.middleware has no counterpart in "
        "toolware.compat.v1 | replace it by hand, then import the module from "
        "toolware.compat.v1 (MiddlewareMixin)",
    ]
    assert _migrate(after) == (after, findings)  # still reported, still left


def test_every_unknown_name_of_one_import_is_listed_in_order() -> None:
    """Two names without a counterpart: both named, as written, in one finding."""
    source = "from langswarm.memory.registry.rags import Zeta, RAGRegistry, Alpha\n"
    after, findings = _migrate(source)
    assert after == source
    assert findings == [
        "1: Zeta, Alpha from langswarm.memory.registry.rags has no counterpart in "
        "toolware.compat.v1 | from toolware.compat.v1 import RAGRegistry, and replace the "
        "rest by hand"
    ]


def test_every_name_of_a_plain_import_is_kept_after_a_legacy_one() -> None:
    """``import <legacy>, os, <other langswarm>``: the legacy module renamed, the rest kept."""
    after, findings = _migrate(
        "import langswarm.synapse.registry.tools, os, langswarm.core.config\n"
    )
    assert after == "import toolware.compat.v1, os, langswarm.core.config\n"
    assert findings == [
        "1: import langswarm.core.config, which has no counterpart in toolware.compat.v1 | "
        "import toolware.compat.v1 and use its MiddlewareMixin, ToolRegistry, RAGRegistry, "
        "PluginRegistry"
    ]
