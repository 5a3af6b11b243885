"""Where the resilience interceptors keep state: in memory, or shared through Redis.

``toolware.state.redis`` (extra ``toolware[redis]``) is imported only when asked for.
"""

from toolware.state.base import (
    ADMITTED,
    BreakerChange,
    BreakerDecision,
    BreakerPolicy,
    BreakerState,
    RateDecision,
    RateLimit,
    StateStatus,
    StateStore,
)
from toolware.state.memory import MemoryState

__all__ = [
    "ADMITTED",
    "BreakerChange",
    "BreakerDecision",
    "BreakerPolicy",
    "BreakerState",
    "MemoryState",
    "RateDecision",
    "RateLimit",
    "StateStatus",
    "StateStore",
]
