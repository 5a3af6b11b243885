"""Integrations with agent frameworks and tool protocols, one module each.

The MCP, LangChain and LlamaIndex modules import their library at import time and name the
extra to install when it is missing; the OpenAI and Anthropic modules work on plain dicts
without their SDKs and read SDK objects by attribute. Nothing here is imported by
``import toolware``.

- :mod:`toolware.integrations.openai`: OpenAI tool definitions (Chat Completions and Responses,
  strict mode) and ``run_tool_calls`` (extra ``openai``, optional: plain dicts work without it);
- :mod:`toolware.integrations.anthropic`: Anthropic Messages ``tools`` and ``tool_use`` →
  ``tool_result`` (extra ``anthropic``, optional likewise);
- :mod:`toolware.integrations.mcp`: a registry served as an MCP server, and remote MCP servers
  as a registry (extra ``mcp``);
- :mod:`toolware.integrations.langchain`: entries as LangChain tools, LangChain tools as a
  registry (extra ``langchain``);
- :mod:`toolware.integrations.llamaindex`: LlamaIndex retrievers as RAG entries, entries as
  LlamaIndex function tools (extra ``llamaindex``).
"""
