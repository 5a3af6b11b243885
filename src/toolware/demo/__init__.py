"""The embedded demo: real tools, a plugin and a BM25 retriever, and a scripted agent session.

``toolware.demo:registry`` is the registry ``toolware list`` and ``toolware call`` use by
default; ``run_demo(console)`` is ``toolware demo``.

    calculator.py  safe arithmetic (ast, allowlist)      units.py     convert_units
    bm25.py        Okapi BM25 over documents/*.txt       notes.py     the notes plugin
    report.py      a slow blocking tool (timeouts)       registry.py  build_registry()
    functions.py   OpenAI function-calling shapes        session.py   the scripted session
    render.py      run_demo(console)
"""

from toolware.demo.registry import build_registry
from toolware.demo.render import run_demo

__all__ = ["build_registry", "registry", "run_demo"]

registry = build_registry()
