"""The agent: the V1 middleware mixed in, so model tool calls go through to_middleware."""

import json

import langswarm.core.wrappers.middleware as middleware

from weatherbot.registries import build_registries


class WeatherAgent(middleware.MiddlewareMixin):
    """A chat agent whose model may call the weather tool, the notes plugin and the docs."""

    def __init__(self, name="weatherbot", timeout=5):
        self.name = name
        self.timeout = timeout
        self.events = []
        tools, rags, plugins = build_registries()
        super().__init__(tool_registry=tools, plugin_registry=plugins, rag_registry=rags)

    def log_event(self, message, level):
        self.events.append((level, message))

    def use_tool(self, action_id, method, params):
        """One call as the model asked for it: (status, body for the model)."""
        status, body = self.to_middleware({action_id: {"method": method, "params": params}})
        return status, body

    def remember(self, text):
        return self.to_middleware({"notes": {"method": "add", "params": {"text": text}}})

    async def forecast(self, city):
        """The forecast as data, for the async web front end."""
        status, body = self.to_middleware(
            {"weather": {"method": "forecast", "params": {"city": city, "days": 3}}}
        )
        if status != 201:
            raise RuntimeError(body)
        return json.loads(body)
