"""Tests for toolware.registry.plugins: which methods of a plugin are its actions."""

from typing import Any, ClassVar

import pydantic
import pytest

from toolware import Kind, LocalRegistry, RegistrationError


def actions(registry: LocalRegistry, name: str) -> list[str]:
    return [str(d.action) for d in registry.list() if d.name == name]


class Base:
    def shared(self) -> str:
        return "shared"

    def overridden(self) -> str:
        return "base"


class Client:
    def __call__(self, query: str) -> str:
        return query


class Child(Base):
    """A plugin with a base class."""

    limit: ClassVar[int] = 3
    client: ClassVar[Any] = Client()  # a stored dependency, not an action
    length: ClassVar[Any] = staticmethod(len)  # a builtin, not something authored here

    class Config:  # a nested class is never an action
        pass

    def own(self) -> str:
        return "own"

    def overridden(self) -> str:
        return "child"

    @property
    def size(self) -> int:
        return 1

    @staticmethod
    def static_helper(x: int) -> int:
        return x

    @classmethod
    def create(cls, text: str) -> str:
        return text

    def _private(self) -> None: ...


def test_only_methods_defined_in_the_class_are_actions() -> None:
    """Own functions, staticmethods and classmethods; no base methods, properties or classes."""
    registry = LocalRegistry()
    registry.plugin(Child)
    assert actions(registry, "child") == ["create", "overridden", "own", "static_helper"]
    assert registry.resolve(Kind.PLUGIN, "child", "overridden").function() == "child"
    assert registry.resolve(Kind.PLUGIN, "child", "static_helper").function(x=2) == 2
    assert registry.resolve(Kind.PLUGIN, "child", "create").function(text="t") == "t"


def test_a_nested_class_is_never_an_action() -> None:
    """A public nested class stays out even with inherited=True."""
    registry = LocalRegistry()
    registry.plugin(Child, inherited=True)
    assert "Config" not in actions(registry, "child")
    with pytest.raises(RegistrationError, match="does not have as a public method"):
        LocalRegistry().plugin(Child, include=["Config"])


def test_inherited_adds_the_bases_methods() -> None:
    """inherited=True adds methods from bases, never object's."""
    registry = LocalRegistry()
    registry.plugin(Child, inherited=True)
    assert actions(registry, "child") == [
        "create",
        "overridden",
        "own",
        "shared",
        "static_helper",
    ]


def test_builtin_bases_contribute_nothing() -> None:
    """A plugin subclassing dict does not expose keys(), items()..."""

    class Store(dict[str, str]):
        def put(self, key: str, value: str) -> None:
            self[key] = value

    registry = LocalRegistry()
    registry.plugin(Store, inherited=True)
    assert actions(registry, "store") == ["put"]


def test_include_names_the_actions_exactly() -> None:
    """include= picks actions, inherited ones too; order is kept."""
    registry = LocalRegistry()
    registry.plugin(Child, include=["shared", "own"])
    assert actions(registry, "child") == ["shared", "own"]


def test_exclude_drops_actions() -> None:
    """exclude= removes actions from the default set."""
    registry = LocalRegistry()
    registry.plugin(Child, exclude=["create", "static_helper"])
    assert actions(registry, "child") == ["overridden", "own"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"include": ["nope"]}, r"include= names 'nope'.*available: create, overridden, own"),
        ({"exclude": ["shared"]}, r"exclude= names 'shared'.*available: create, overridden"),
        ({"include": ["_private"]}, "include= names '_private'"),
        ({"include": "own"}, r"include takes a list of method names, e\.g\. include=\['add'\]"),
        ({"exclude": [1]}, "exclude takes a list of method names"),
        ({"include": ["own"], "exclude": ["create"]}, "not both"),
        ({"inherited": "yes"}, "inherited must be True or False"),
    ],
)
def test_bad_include_exclude_are_refused_with_what_is_available(
    options: dict[str, Any], message: str
) -> None:
    """Unknown names are refused listing the available methods; bad types are refused."""
    with pytest.raises(RegistrationError, match=message):
        LocalRegistry().plugin(Child, **options)


def test_plugin_options_are_refused_for_other_kinds() -> None:
    """include= on a tool would be ignored: it is refused instead."""
    with pytest.raises(RegistrationError, match="choose a plugin's actions"):
        LocalRegistry().add(lambda: 1, name="one", include=["x"])
    with pytest.raises(RegistrationError, match="choose a plugin's actions"):
        LocalRegistry().add_lazy("json:dumps", inherited=True)


def test_a_class_whose_methods_are_all_inherited_says_how() -> None:
    """No own methods: the error points at inherited=True."""

    class Only(Base):
        pass

    with pytest.raises(RegistrationError, match=r"inherited=True"):
        LocalRegistry().plugin(Only)


class Counter(pydantic.BaseModel):
    """A pydantic model as a plugin."""

    start: int = 0
    step: int = 1

    def next(self, times: int = 1) -> int:
        """The value after ``times`` steps."""
        return self.start + self.step * times


def test_pydantic_model_plugins_expose_only_their_own_methods() -> None:
    """A BaseModel plugin: its methods, not model_dump/model_validate or its fields."""
    registry = LocalRegistry()
    registry.plugin(Counter)
    assert actions(registry, "counter") == ["next"]
    assert registry.resolve(Kind.PLUGIN, "counter", "next").function(times=2) == 2

    inherited = LocalRegistry()
    inherited.plugin(Counter(start=10), inherited=True)
    assert actions(inherited, "counter") == ["next"]
    assert inherited.resolve(Kind.PLUGIN, "counter", "next").function() == 11


def test_pydantic_model_with_private_attributes() -> None:
    """pydantic's generated model_post_init is not an action."""

    class Cache(pydantic.BaseModel):
        _items: dict[str, str] = pydantic.PrivateAttr(default_factory=dict)

        def put(self, key: str, value: str) -> None:
            self._items[key] = value

    registry = LocalRegistry()
    registry.plugin(Cache)
    assert actions(registry, "cache") == ["put"]


def test_lazy_plugin_keeps_its_include() -> None:
    """add_lazy(kind=plugin, include=...) applies the selection at import."""
    registry = LocalRegistry()
    registry.add_lazy("tests.registry.registry_support:Notes", kind=Kind.PLUGIN, include=["add"])
    registry.resolve(Kind.PLUGIN, "notes", "add")
    assert actions(registry, "notes") == ["add"]
