"""Assembling a pipeline: stages, where each one goes, the terminal, and one clock.

The first interceptor added runs outermost. With::

    pipeline = (
        PipelineBuilder()
        .use(stats)        # 1st: sees every call, including ones refused below, and their time
        .use(timeout)      # 2nd: the deadline covers validation and the handler
        .use(validation)   # 3rd: bad arguments never reach the handler
        .route(registry)
        .build()
    )

a call runs ``stats → timeout → validation → router → handler`` and the response travels back
in the opposite order.

A stage can also be placed relative to another one by name, which is how a stage is added to
a builder that someone else filled (``default_builder``)::

    default_builder(registry).use(authenticate, first=True)        # outermost
    default_builder(registry).use(authorize, before="validation")  # right before validation

``before=``/``after=`` are resolved at ``build()``, so the anchor may be added later. Stages
placed before the same anchor keep the order they were added in, and so do stages placed
after it. An anchor that does not exist, or a loop of anchors, is refused at ``build()``.
"""

from __future__ import annotations

import inspect
import itertools
from typing import TYPE_CHECKING

import msgspec

from toolware._attribution import display_name
from toolware._callables import check_arity
from toolware._workers import DEFAULT_MAX_QUEUED
from toolware.clock import Clock, system_clock
from toolware.conditions import Condition, When, compile_condition
from toolware.errors import BuilderFrozenError
from toolware.registry.base import Registry, close_matches
from toolware.router import Router
from toolware.types import ClockUser, Handler, Interceptor, Named

if TYPE_CHECKING:
    from toolware.debug import DebugOptions
    from toolware.pipeline import Pipeline

__all__ = ["PipelineBuilder", "Stage"]


class Stage(msgspec.Struct, frozen=True):
    """One interceptor in a pipeline, with its name and optional condition."""

    name: str
    interceptor: Interceptor
    condition: Condition | None = None

    def describe(self) -> str:
        return (
            self.name if self.condition is None else f"{self.name} when {self.condition.describe()}"
        )


class _Placement(msgspec.Struct, frozen=True):
    stage: Stage
    before: str | None = None
    after: str | None = None
    first: bool = False


class PipelineBuilder:
    """Collects stages and a terminal, then folds them into a :class:`Pipeline`.

    ``clock`` is the pipeline's one clock: ``build()`` hands it to every stage that reads time
    (:class:`~toolware.types.ClockUser`), to the router and its worker pool. ``debug`` switches
    debug mode on or off (see :mod:`toolware.debug`; ``None``: ``TOOLWARE_DEBUG`` decides).
    """

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        name: str = "pipeline",
        debug: DebugOptions | bool | None = None,
    ) -> None:
        if not isinstance(clock, Clock):
            raise TypeError(f"clock must implement toolware.clock.Clock, got {clock!r}")
        if debug is not None:
            from toolware.debug import debug_options  # only loaded when debug mode is asked

            debug_options(debug)  # refuses a wrong type now rather than at build()
        self._debug = debug
        self._clock = clock
        self._name = name
        self._placements: list[_Placement] = []
        self._terminal: Handler | None = None
        self._owns_terminal = False
        self._built = False

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def stage_names(self) -> tuple[str, ...]:
        """The names of the stages as they would be built now, outermost first."""
        return tuple(stage.name for stage in self._ordered())

    def _refuse_if_built(self, method: str) -> None:
        if self._built:
            raise BuilderFrozenError(
                f"{method}() called on a builder that was already built into a pipeline; "
                "pipelines are immutable: start a new PipelineBuilder() for a different pipeline"
            )

    def use(
        self,
        interceptor: Interceptor,
        *,
        when: When | None = None,
        name: str | None = None,
        before: str | None = None,
        after: str | None = None,
        first: bool = False,
    ) -> PipelineBuilder:
        """Add an interceptor; by default it runs inside every interceptor added before it.

        ``when`` limits it to some calls: a predicate ``(request) -> bool``, a set of
        :class:`~toolware.context.Kind`, or a set of target names (a plugin action by its
        canonical name, ``"notes.add"``). ``name`` names the stage (default: the
        interceptor's ``name`` or function name, numbered ``#2``, ``#3`` when used again);
        names are unique within a pipeline.
        ``first=True`` makes it the outermost stage; ``before=``/``after=`` place it right
        before or after the stage of that name.
        """
        self._refuse_if_built("use")
        check_arity(interceptor, 2, "use()", "async def log(request, call_next): ...")
        if sum((before is not None, after is not None, bool(first))) > 1:
            raise ValueError("use() takes at most one of before=, after= and first=True")
        for option, value in (("name", name), ("before", before), ("after", after)):
            if value is not None and (not isinstance(value, str) or not value):
                raise TypeError(f"{option}= takes a stage name (a non-empty str), got {value!r}")
        taken = [placement.stage.name for placement in self._placements]
        if name is not None and name in taken:
            raise ValueError(
                f"a stage named {name!r} is already in this pipeline; give this one another "
                f"name with use(..., name='...'). Stages: {', '.join(taken)}"
            )
        stage_name = name or _stage_name(interceptor)
        if stage_name in taken:  # the same interceptor twice, unnamed: number the copies
            stage_name = next(
                f"{stage_name}#{n}" for n in itertools.count(2) if f"{stage_name}#{n}" not in taken
            )
        condition = None if when is None else compile_condition(when)
        stage = Stage(stage_name, interceptor, condition)
        self._placements.append(_Placement(stage, before, after, bool(first)))
        return self

    def route(
        self,
        target: Registry | Handler,
        *,
        workers: int | None = None,
        max_queued: int | None = DEFAULT_MAX_QUEUED,
        owned: bool = True,
    ) -> PipelineBuilder:
        """Set the terminal: a registry (calls go to its entries) or any handler.

        ``workers`` bounds the thread pool that runs synchronous handlers of a registry, and
        ``max_queued`` how many calls may wait for a thread (``None``: no bound); a call
        beyond it is refused ``unavailable`` at once rather than queued for ever. The
        pipeline owns the router it makes for a registry; a handler given here (such as a
        sub-pipeline) is owned, and closed by ``Pipeline.aclose()``, unless ``owned=False``.
        """
        self._refuse_if_built("route")
        if self._terminal is not None:
            raise ValueError(
                "route() was already called; a pipeline has one terminal. To send calls to "
                "several, route to a CompositeRegistry or to a pipeline that branches"
            )
        # A registry *class* also passes the runtime protocol check; it falls through to the
        # handler checks below, which say to pass an instance.
        if isinstance(target, Registry) and not inspect.isclass(target):
            self._terminal = Router(
                target, clock=self._clock, workers=workers, max_queued=max_queued
            )
            self._owns_terminal = True
            return self
        if workers is not None or max_queued != DEFAULT_MAX_QUEUED:
            raise ValueError("workers= and max_queued= only apply when routing to a registry")
        check_arity(target, 1, "route()", "route(registry) or route(async def handler(request))")
        self._terminal = target
        self._owns_terminal = owned
        return self

    def _ordered(self) -> list[Stage]:
        """The stages in call order, with ``first``/``before``/``after`` applied."""
        order = [p.stage for p in self._placements if p.before is None and p.after is None]
        # Each first=True goes in front of everything so far: the latest is outermost.
        firsts = [p.stage for p in reversed(self._placements) if p.first]
        order = firsts + [stage for stage in order if stage not in firsts]
        waiting = [p for p in self._placements if p.before is not None or p.after is not None]
        # How many stages were already placed right after each anchor: the next one goes
        # behind them, so stages placed after one anchor keep the order they were added in.
        after_count: dict[str, int] = {}
        while waiting:
            placed = [p for p in waiting if (p.before or p.after) in {s.name for s in order}]
            if not placed:
                self._refuse_anchors(waiting)
            for placement in placed:
                names = [stage.name for stage in order]
                if placement.before is not None:
                    order.insert(names.index(placement.before), placement.stage)
                else:
                    anchor = str(placement.after)
                    offset = after_count.get(anchor, 0)
                    order.insert(names.index(anchor) + 1 + offset, placement.stage)
                    after_count[anchor] = offset + 1
            waiting = [p for p in waiting if p not in placed]
        return order

    def _refuse_anchors(self, waiting: list[_Placement]) -> None:
        every = {p.stage.name for p in self._placements}
        for placement in waiting:
            anchor = str(placement.before or placement.after)
            if anchor not in every:
                where = "before" if placement.before is not None else "after"
                suggestions = close_matches(anchor, every)
                also = f" (did you mean {suggestions[0]!r}?)" if suggestions else ""
                raise ValueError(
                    f"stage {placement.stage.name!r} is placed {where}={anchor!r}, but no stage "
                    f"has that name{also}; stages: {', '.join(sorted(every))}"
                )
        loop = ", ".join(f"{p.stage.name!r} → {p.before or p.after!r}" for p in waiting)
        raise ValueError(f"stage placements form a loop: {loop}; anchor one of them elsewhere")

    def build(self, *, debug: DebugOptions | bool | None = None) -> Pipeline:
        """Fold the stages around the terminal into an immutable pipeline.

        Hands the pipeline's clock to every stage that reads time, and refuses ``when=``
        target names that the routed registry does not have. ``debug`` overrides the
        builder's ``debug=`` and ``TOOLWARE_DEBUG`` (see :mod:`toolware.debug`).
        """
        from toolware.debug import debug_options, debug_stages  # it imports this module
        from toolware.pipeline import Pipeline  # the pipeline module imports this one

        self._refuse_if_built("build")
        terminal = self._terminal
        if terminal is None:
            raise ValueError(
                "build() needs a terminal: call .route(registry) or .route(handler) first"
            )
        stages = self._ordered()
        if isinstance(terminal, Router):
            self._check_targets(stages, terminal.registry)
        for stage in stages:
            if isinstance(stage.interceptor, ClockUser):
                stage.interceptor.bind_clock(self._clock)
        if isinstance(terminal, ClockUser):
            terminal.bind_clock(self._clock)
        options = debug_options(self._debug if debug is None else debug)
        stages = debug_stages(stages, options, clock=self._clock, pipeline=self._name)
        self._built = True
        return Pipeline(
            stages=tuple(stages),
            terminal=terminal,
            clock=self._clock,
            name=self._name,
            owns_terminal=self._owns_terminal,
        )

    @staticmethod
    def _check_targets(stages: list[Stage], registry: Registry) -> None:
        wanted = [s for s in stages if s.condition is not None and s.condition.target_names()]
        if not wanted:
            return
        known: set[str] = set()
        for description in registry.list():
            known.add(description.name)
            known.add(description.qualified_name)
        for stage in wanted:
            condition = stage.condition
            if condition is None:  # filtered out above; keeps the type checker informed
                continue
            missing = sorted(condition.target_names() - known)
            if missing:
                hints = [f"{name!r} → {close_matches(name, known)}" for name in missing]
                raise ValueError(
                    f"stage {stage.name!r} has when= targets that the registry does not have: "
                    f"{', '.join(hints)}; a plugin action is named 'plugin.action'. Fix the "
                    "names, or use a predicate for targets registered later"
                )


def _stage_name(interceptor: object) -> str:
    """A short default name: the interceptor's ``name``, a function's own name (not its
    ``<locals>`` path, which would make a poor ``before=`` anchor), else its class name."""
    if isinstance(interceptor, Named) and isinstance(interceptor.name, str) and interceptor.name:
        return interceptor.name
    if inspect.isfunction(interceptor) or inspect.ismethod(interceptor):
        return interceptor.__name__
    return display_name(interceptor)
