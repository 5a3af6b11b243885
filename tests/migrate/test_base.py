"""The shared rewrite helpers: imports added under a docstring, findings at original lines."""

from __future__ import annotations

import libcst as cst

from toolware.migrate._base import RecordingTransformer, add_imports, code_of
from toolware.migrate.findings import Finding


def _added(source: str) -> str:
    module = cst.parse_module(source)
    return add_imports(module, [("json", None), ("toolware", "LocalRegistry")]).code


def test_a_first_import_under_a_docstring_is_set_apart_by_a_blank_line() -> None:
    """libcst puts it right under the docstring; a blank line follows the docstring."""
    assert _added('"""Doc."""\nclass A:\n    pass\n') == (
        '"""Doc."""\n\nimport json\nfrom toolware import LocalRegistry\n\nclass A:\n    pass\n'
    )


def test_a_blank_line_already_under_the_docstring_is_kept_as_it_is() -> None:
    """Two blank lines after the docstring stay two; no third is added."""
    assert _added('"""Doc."""\n\n\nimport os\n\n\nclass A:\n    pass\n') == (
        '"""Doc."""\n\n\nimport os\nimport json\nfrom toolware import LocalRegistry\n\n\n'
        "class A:\n    pass\n"
    )


def test_without_a_docstring_no_blank_line_is_added() -> None:
    """A module opening with code or imports: libcst's own blank line after the new imports only."""
    assert _added("import os\nx = 1\n") == (
        "import os\nimport json\nfrom toolware import LocalRegistry\n\nx = 1\n"
    )
    assert _added("x = 'not a docstring'\ny = 2\n") == (
        "import json\nfrom toolware import LocalRegistry\n\nx = 'not a docstring'\ny = 2\n"
    )


def test_an_import_already_there_is_not_added_twice() -> None:
    """Each needed import once; a module that has them all is unchanged."""
    source = '"""Doc."""\n\nimport json\nfrom toolware import LocalRegistry\n\nx = 1\n'
    assert _added(source) == source


def test_code_of_prints_a_node_as_written() -> None:
    """Formatting inside the node is kept."""
    node = cst.parse_expression('{"text" :  t}')
    assert code_of(node) == '{"text" :  t}'


class _Names(RecordingTransformer):
    def visit_Name(self, node: cst.Name) -> None:
        if node.value == "legacy":
            self.report(node, f"found {node.value}", "use modern")


def test_report_records_the_path_and_the_line_of_the_node() -> None:
    """Each report is a Finding at the original node's line."""
    transformer = _Names("pkg/m.py")
    module = cst.parse_module("x = 1\n\ny = legacy\nz = [\n    legacy,\n]\n")
    cst.MetadataWrapper(module).visit(transformer)
    assert transformer.path == "pkg/m.py"
    assert transformer.findings == [
        Finding(path="pkg/m.py", line=3, message="found legacy", suggestion="use modern"),
        Finding(path="pkg/m.py", line=5, message="found legacy", suggestion="use modern"),
    ]


def test_one_import_under_a_lone_docstring() -> None:
    """A module that is only a docstring: the import, set apart by a blank line."""
    module = cst.parse_module('"""Doc."""\n')
    assert add_imports(module, [("json", None)]).code == '"""Doc."""\n\nimport json\n'


def test_nothing_needed_leaves_the_module_as_it_is() -> None:
    """No import to add: a lone docstring stays alone."""
    module = cst.parse_module('"""Doc."""\n')
    assert add_imports(module, []).code == '"""Doc."""\n'
