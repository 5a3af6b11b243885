"""The embedded demo: real tools, a plugin and a BM25 retriever, and a scripted agent session.

``demo_registry()`` returns the registry ``toolware list`` and ``toolware call`` use by default
(``--app toolware.demo:demo_registry``: an ``--app`` attribute may be a registry or a function
returning one), built on first use, not at import; ``run_demo(console)`` is ``toolware demo``.
The demo needs ``rich``: install ``toolware[cli]``.

    calculator.py  safe arithmetic (ast, allowlist)      units.py     convert_units
    bm25.py        Okapi BM25 over documents/*.txt       notes.py     the notes plugin
    report.py      a slow blocking tool (timeouts)       registry.py  demo_registry()
    live.py        streaming tools (chunks, idle timeout) session.py  the scripted session
    resilience.py  flaky, dead, rate-limited, cached     pipeline.py  demo_pipeline() with
                   tools (add_resilience_tools)                       cache, retry, breaker
    functions.py   OpenAI function-calling shapes        render.py    run_demo(console)
    summary.py     the closing sentences of the demo
"""

from toolware.demo.registry import build_registry, demo_registry
from toolware.demo.render import run_demo

__all__ = ["build_registry", "demo_registry", "run_demo"]
