"""Where the bot's handlers are registered: the legacy registries, one per kind."""

from langswarm.cortex.registry.plugins import PluginRegistry  # plugins live in the cortex
from langswarm.memory.registry.rags import RAGRegistry as Rags
from langswarm.synapse.registry.tools import (
    ToolRegistry,  # the tools the model may call
)

from weatherbot.handlers import DocsRAG, NotesPlugin, WeatherTool

HELP_PAGES = {
    "units": "Temperatures are in degrees Celsius.",
    "cities": "The bot knows Oslo and Lisbon. Ask for a city by name.",
    "forecast": "A forecast covers the next days; ask for up to three days for a city.",
}


def build_registries():
    """A fresh (tools, rags, plugins) triple for one agent."""
    tools = ToolRegistry()
    tools.register_tool(WeatherTool())
    rags = Rags()
    rags.register_rag(DocsRAG(HELP_PAGES))
    plugins = PluginRegistry()
    plugins.register_plugin(NotesPlugin())
    return tools, rags, plugins
