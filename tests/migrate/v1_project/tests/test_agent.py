"""The weather bot's own tests: what its users see from the agent's tool calls."""

import asyncio
import json

from weatherbot.agent import WeatherAgent


def test_current_weather_is_a_201_with_indented_json():
    status, body = WeatherAgent().use_tool("weather", "current", {"city": "Oslo"})
    assert status == 201
    assert body == json.dumps({"city": "Oslo", "temperature": 4, "sky": "cloudy"}, indent=2)


def test_a_failing_tool_is_still_a_201_so_the_model_sees_the_error():
    status, body = WeatherAgent().use_tool("weather", "current", {"city": "Atlantis"})
    assert status == 201
    assert json.loads(body) == "An error occurred with action current: no weather for Atlantis"


def test_an_unknown_action_is_a_404_quoting_the_method():
    assert WeatherAgent().use_tool("ghost", "do", {}) == (404, "Ghost 'do' not found.")


def test_notes_are_kept_between_calls():
    agent = WeatherAgent()
    assert agent.remember("bring an umbrella") == (201, "1")
    assert agent.remember("call home") == (201, "2")
    status, body = agent.use_tool("notes", "all", {})
    assert (status, json.loads(body)) == (201, ["bring an umbrella", "call home"])


def test_the_docs_are_searched():
    status, body = WeatherAgent().use_tool("docs", "query", {"query": "city days"})
    assert (status, json.loads(body)) == (201, ["forecast", "cities"])


def test_two_actions_in_one_input_join_their_bodies():
    agent = WeatherAgent()
    status, body = agent.to_middleware(
        {
            "weather": {"method": "current", "params": {"city": "Lisbon"}},
            "notes": {"method": "add", "params": {"text": "sunny"}},
        }
    )
    assert status == 201
    first, second = body.split("\n\n")
    assert json.loads(first)["sky"] == "sunny"
    assert second == "1"


def test_bad_input_is_a_400():
    assert WeatherAgent().to_middleware("weather please") == (
        400,
        "Invalid input type: <class 'str'>, expected dict",
    )


def test_the_async_front_end_gets_data():
    assert asyncio.run(WeatherAgent().forecast("Lisbon")) == [20, 21, 18]


def test_log_lines_name_the_agent():
    agent = WeatherAgent(name="bot-7")
    agent.use_tool("weather", "current", {"city": "Atlantis"})
    assert all(message.startswith("Agent bot-7: ") for _, message in agent.events)
