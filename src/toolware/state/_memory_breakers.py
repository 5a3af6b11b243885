"""Circuit breakers in process memory (being written: see issue 7, the breaker helper)."""

from __future__ import annotations

from toolware.state.base import BreakerChange, BreakerDecision, BreakerPolicy, BreakerState

__all__ = ["MemoryBreakers"]


class MemoryBreakers:
    """Per-key breaker state machines, at most ``max_keys`` keys."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys

    def admit(self, key: str, policy: BreakerPolicy, now: float) -> BreakerDecision:
        raise NotImplementedError

    def record(
        self, key: str, policy: BreakerPolicy, now: float, *, failed: bool, probe: bool
    ) -> BreakerChange | None:
        raise NotImplementedError

    def force(self, key: str, state: BreakerState, now: float) -> BreakerChange | None:
        raise NotImplementedError

    def state(self, key: str, now: float) -> BreakerState:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError
