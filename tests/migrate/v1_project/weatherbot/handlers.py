"""The bot's handlers: V1 style, each with run(payload) taking a method and its params."""

FORECASTS = {
    "oslo": {"city": "Oslo", "temperature": 4, "sky": "cloudy", "next": [3, 1, -2]},
    "lisbon": {"city": "Lisbon", "temperature": 19, "sky": "sunny", "next": [20, 21, 18]},
}


class WeatherTool:
    """Current weather and short forecasts from a fixed table."""

    def __init__(self):
        self.identifier = "weather"
        self.description = "Current weather and forecasts for a city"
        self.brief = "weather by city"
        self.instruction = 'Use {"method": "current" or "forecast", "params": {"city": ...}}'

    def run(self, payload):
        method = payload["method"]
        params = payload["params"]
        # One branch per method the model may ask for.
        if method == "current":
            return self.current(**params)
        elif method == "forecast":
            return self.forecast(**params)
        raise ValueError(f"unknown method {method!r}")

    def current(self, city):
        """The weather now."""
        found = FORECASTS.get(city.lower())
        if found is None:
            raise ValueError(f"no weather for {city}")
        return {"city": found["city"], "temperature": found["temperature"], "sky": found["sky"]}

    def forecast(self, city, days=2):
        """Temperatures for the next days."""
        found = FORECASTS.get(city.lower())
        if found is None:
            raise ValueError(f"no weather for {city}")
        return found["next"][:days]


class NotesPlugin:
    """Short notes kept for the conversation."""

    identifier = "notes"
    description = "Remembers short notes"
    brief = "notes"
    instruction = 'Use {"method": "add", "params": {"text": ...}} or "all"'

    def __init__(self):
        self.notes = []

    def run(self, payload):
        return getattr(self, payload["method"])(**payload["params"])

    def add(self, text):
        """Keep a note; returns how many there are."""
        self.notes.append(text)
        return len(self.notes)

    def all(self):
        """Every note, oldest first."""
        return list(self.notes)


class DocsRAG:
    """Keyword search over the bot's help pages."""

    def __init__(self, documents):
        self.identifier = "docs"
        self.description = "Searches the help pages"
        self.brief = "help pages"
        self.instruction = 'Use {"method": "query", "params": {"query": ...}}'
        self.documents = documents

    def run(self, payload):
        if payload["method"] == "query":
            return self.query(**payload["params"])
        raise ValueError("only query is supported")

    def query(self, query, k=2):
        """The pages that mention the query, best first."""
        words = query.lower().split()
        scored = [
            (sum(text.lower().count(w) for w in words), title)
            for title, text in self.documents.items()
        ]
        return [title for score, title in sorted(scored, reverse=True) if score > 0][:k]
