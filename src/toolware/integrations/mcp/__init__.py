"""MCP (Model Context Protocol) with the official ``mcp`` SDK (extra ``toolware[mcp]``).

- :mod:`toolware.integrations.mcp.server`: a registry, through a pipeline, served as an MCP
  server (stdio and streamable HTTP; ``toolware mcp serve --app module:registry``);
- :mod:`toolware.integrations.mcp.client`: remote MCP servers as a registry source, each call
  going through the local pipeline first.
"""

from toolware.integrations.mcp.client import McpRegistry
from toolware.integrations.mcp.server import McpServer

__all__ = ["McpRegistry", "McpServer"]
