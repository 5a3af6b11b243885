"""Tests for RedisState circuit breakers on a real redis-server: the state machine, shared."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from toolware.state import BreakerChange, BreakerPolicy, BreakerState, MemoryState
from toolware.state.redis import RedisState
from toolware.testing import FakeClock

Stores = Callable[..., RedisState]
CLOSED, OPEN = BreakerState.CLOSED, BreakerState.OPEN
HALF_OPEN, ISOLATED = BreakerState.HALF_OPEN, BreakerState.ISOLATED
IN_A_ROW = BreakerPolicy(failure_ratio=None, consecutive_failures=3, break_duration=10.0)
"""Breaks and probe rounds of 10 s: tests end them by hand (``elapse``), never by waiting, so
a slow machine cannot end a round between two admissions."""


T = time.monotonic
"""The callers' clock in these tests: Redis's time passes for real, so ``now`` must too."""


async def eventually(check: Callable[[], bool], within: float = 2.0) -> None:
    """Wait (polling) until ``check()`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def listening(*states: RedisState) -> None:
    """Start the stores' listeners and wait until they are subscribed."""
    for state in states:
        await state.breaker_admit("warm-up", IN_A_ROW, T())
    await eventually(lambda: all(state.listening for state in states))


async def fail(state: RedisState, times: int, policy: BreakerPolicy = IN_A_ROW) -> list[object]:
    return [
        await state.breaker_record("k", policy, time.monotonic(), failed=True, probe=False)
        for _ in range(times)
    ]


async def open_then_elapse(
    state: RedisState, raw: Redis, prefix: str, policy: BreakerPolicy = IN_A_ROW
) -> None:
    """Open the breaker, then end its break by hand (the hash's open-until set to 0)."""
    await fail(state, 3, policy)
    await raw.hset(f"{prefix}cb:k", "u", "0")


def memory_breakers_ready() -> bool:
    try:
        MemoryState().breaker_state("k", 0.0)
    except NotImplementedError:
        return False
    return True


needs_memory_breakers = pytest.mark.skipif(
    not memory_breakers_ready(), reason="MemoryBreakers (the fallback) is not on this branch yet"
)


async def test_consecutive_failures_open_with_the_break_as_retry_after(stores: Stores) -> None:
    """The third failure in a row opens it; a refusal carries the break's remaining time."""
    state = stores()
    first_two = await fail(state, 2)
    assert first_two == [None, None]
    start = time.monotonic()
    change = (await fail(state, 1))[0]
    assert isinstance(change, BreakerChange)
    assert (change.key, change.previous, change.current, change.reason) == (
        "k",
        CLOSED,
        OPEN,
        "consecutive",
    )
    refused = await state.breaker_admit("k", IN_A_ROW, time.monotonic())
    assert (refused.allowed, refused.state, refused.probe) == (False, OPEN, False)
    assert 10.0 - (time.monotonic() - start) - 0.01 <= refused.retry_after <= 10.0
    assert state.breaker_state("k", time.monotonic()) is OPEN


async def test_a_success_ends_the_run_of_failures(stores: Stores) -> None:
    """fail, fail, ok, fail, fail: never three in a row, so it stays closed."""
    state = stores()
    await fail(state, 2)
    await state.breaker_record("k", IN_A_ROW, T(), failed=False, probe=False)
    assert await fail(state, 2) == [None, None]
    assert (await state.breaker_admit("k", IN_A_ROW, T())).allowed


@pytest.mark.parametrize(("successes", "opens"), [(2, True), (3, False)])
async def test_the_failure_ratio_opens_at_minimum_calls(
    stores: Stores, successes: int, opens: bool
) -> None:
    """2 of 4 failed reaches a 0.5 ratio; 2 of 5 does not."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=4, window=10.0)
    state = stores()
    for _ in range(successes):
        await state.breaker_record("k", policy, T(), failed=False, probe=False)
    first = await state.breaker_record("k", policy, T(), failed=True, probe=False)
    assert first is None  # fewer than minimum_calls (or under the ratio)
    second = await state.breaker_record("k", policy, T(), failed=True, probe=False)
    assert (second is not None and second.reason == "failure_ratio") is opens


async def test_outcomes_older_than_the_window_stop_counting(stores: Stores) -> None:
    """Failures a whole window ago no longer count towards the ratio."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=2, window=0.2)
    state = stores()
    assert await state.breaker_record("k", policy, T(), failed=True, probe=False) is None
    await asyncio.sleep(0.21)
    assert await state.breaker_record("k", policy, T(), failed=False, probe=False) is None
    assert await state.breaker_record("k", policy, T(), failed=True, probe=False) is not None


async def test_after_the_break_one_probe_closes_it(stores: Stores, raw: Redis, prefix: str) -> None:
    """Break elapsed: one probe (open -> half-open in the decision), others refused with 0;
    its success closes the breaker."""
    state = stores(breaker_sync=1e-9)  # every admission reads Redis
    await open_then_elapse(state, raw, prefix)
    probe = await state.breaker_admit("k", IN_A_ROW, time.monotonic())
    assert (probe.allowed, probe.state, probe.probe) == (True, HALF_OPEN, True)
    assert probe.change is not None
    assert (probe.change.previous, probe.change.reason) == (OPEN, "break_elapsed")
    other = await state.breaker_admit("k", IN_A_ROW, time.monotonic())
    assert (other.allowed, other.state, other.retry_after) == (False, HALF_OPEN, 0.0)
    now = T()
    closed = await state.breaker_record("k", IN_A_ROW, now, failed=False, probe=True)
    assert closed == BreakerChange("k", HALF_OPEN, CLOSED, "probes_succeeded", now)
    assert (await state.breaker_admit("k", IN_A_ROW, T())).allowed


async def test_a_failed_probe_opens_it_again(stores: Stores, raw: Redis, prefix: str) -> None:
    """A probe that fails reopens for another break."""
    state = stores(breaker_sync=1e-9)  # every admission reads Redis
    await open_then_elapse(state, raw, prefix)
    await state.breaker_admit("k", IN_A_ROW, T())
    now = T()
    change = await state.breaker_record("k", IN_A_ROW, now, failed=True, probe=True)
    assert change == BreakerChange("k", HALF_OPEN, OPEN, "probe_failed", now)
    assert not (await state.breaker_admit("k", IN_A_ROW, T())).allowed


async def test_half_open_probes_all_must_succeed(stores: Stores, raw: Redis, prefix: str) -> None:
    """Two probe slots: a third call is refused; the first success is not enough."""
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=3, half_open_probes=2)
    state = stores(breaker_sync=1e-9)  # every admission reads Redis
    await open_then_elapse(state, raw, prefix, policy)
    admitted = [(await state.breaker_admit("k", policy, T())).allowed for _ in range(3)]
    assert admitted == [True, True, False]
    assert await state.breaker_record("k", policy, T(), failed=False, probe=True) is None
    change = await state.breaker_record("k", policy, T(), failed=False, probe=True)
    assert change is not None
    assert change.current is CLOSED


async def test_a_released_probe_slot_can_be_taken_again(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """breaker_release gives back the slot of a cancelled probe."""
    state = stores(breaker_sync=1e-9)  # every admission reads Redis
    await open_then_elapse(state, raw, prefix)
    assert (await state.breaker_admit("k", IN_A_ROW, T())).probe
    assert not (await state.breaker_admit("k", IN_A_ROW, T())).allowed
    await state.breaker_release("k", 0.0)
    assert (await state.breaker_admit("k", IN_A_ROW, T())).probe


async def test_a_lost_probe_slot_is_freed_after_the_break(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """A probe never reported blocks the key for break_duration only."""
    state = stores(breaker_sync=1e-9)  # every admission reads Redis
    await open_then_elapse(state, raw, prefix)
    assert (await state.breaker_admit("k", IN_A_ROW, T())).probe
    await raw.hset(f"{prefix}cb:k", "x", "0")  # the round is over
    again = await state.breaker_admit("k", IN_A_ROW, T())
    assert (again.allowed, again.probe, again.change) == (True, True, None)


async def test_outcomes_in_another_state_are_dropped(stores: Stores) -> None:
    """A late non-probe outcome while open, and a probe outcome while closed, change nothing."""
    state = stores()
    assert await state.breaker_record("k", IN_A_ROW, T(), failed=True, probe=True) is None
    await fail(state, 3)
    assert await state.breaker_record("k", IN_A_ROW, T(), failed=True, probe=False) is None
    assert await state.breaker_record("k", IN_A_ROW, T(), failed=False, probe=True) is None


async def test_isolate_and_reset(stores: Stores) -> None:
    """Isolated refuses with 0 until reset; forcing twice is no change; open cannot be forced."""
    state = stores()
    assert await state.breaker_force("k", ISOLATED, 3.0) == BreakerChange(
        "k", CLOSED, ISOLATED, "isolated", 3.0
    )
    assert await state.breaker_force("k", ISOLATED, 3.0) is None
    refused = await state.breaker_admit("k", IN_A_ROW, 3.0)
    assert (refused.allowed, refused.state, refused.retry_after) == (False, ISOLATED, 0.0)
    assert (await state.breaker_admit("k", IN_A_ROW, 3.5)).state is ISOLATED
    assert state.round_trips == 2  # the admissions were answered by the local view
    reset = await state.breaker_force("k", CLOSED, 4.0)
    assert reset == BreakerChange("k", ISOLATED, CLOSED, "reset", 4.0)
    assert await state.breaker_force("k", CLOSED, 4.0) is None
    with pytest.raises(ValueError, match=r"must be BreakerState\.ISOLATED or BreakerState\.CLOSED"):
        await state.breaker_force("k", OPEN, 4.0)


async def test_the_closed_path_admits_without_a_round_trip(stores: Stores) -> None:
    """Within breaker_sync of the last reading, closed admits are local; then Redis is read."""
    state = stores(breaker_sync=1.0)
    await state.breaker_admit("k", IN_A_ROW, 10.0)
    assert state.round_trips == 1
    for _ in range(5):
        await state.breaker_admit("k", IN_A_ROW, 10.999)
    assert state.round_trips == 1
    await state.breaker_admit("k", IN_A_ROW, 11.0)
    assert state.round_trips == 2


async def test_an_open_breaker_refuses_locally_until_its_break_ends(stores: Stores) -> None:
    """Open (as read from Redis): refused without a round trip, retry_after counting down."""
    state = stores(breaker_sync=10.0)
    for _ in range(3):
        await state.breaker_record("k", IN_A_ROW, 50.0, failed=True, probe=False)
    first = await state.breaker_admit("k", IN_A_ROW, 50.0)
    trips = state.round_trips
    later = await state.breaker_admit("k", IN_A_ROW, 50.05)
    assert later.retry_after == pytest.approx(first.retry_after - 0.05)
    assert state.round_trips == trips
    assert state.breaker_state("k", 50.0 + first.retry_after) is HALF_OPEN
    await state.breaker_admit("k", IN_A_ROW, 50.0 + first.retry_after)
    assert state.round_trips == trips + 1


async def test_breaker_sync_bounds_staleness_when_a_change_is_not_heard(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """A change written without a message (a lost one) is seen after breaker_sync."""
    state = stores(breaker_sync=1.0)
    await listening(state)
    await state.breaker_admit("k", IN_A_ROW, 0.0)
    await raw.hset(f"{prefix}cb:k", mapping={"s": "isolated"})
    assert (await state.breaker_admit("k", IN_A_ROW, 0.5)).allowed
    assert (await state.breaker_admit("k", IN_A_ROW, 1.0)).state is ISOLATED


async def test_another_store_hears_the_change_and_refuses(stores: Stores) -> None:
    """Opened in one store: the other hears it by pub/sub (reason 'remote', stamped on its
    clock), and its next admission is refused; its own changes are not echoed to it."""
    clock = FakeClock(start=500.0)
    one, two = stores(), stores(clock=clock)
    heard: list[BreakerChange] = []
    two.subscribe_breaker_changes(heard.append)
    mine: list[BreakerChange] = []
    one.subscribe_breaker_changes(mine.append)
    await listening(one, two)
    assert (await two.breaker_admit("k", IN_A_ROW, time.monotonic())).allowed
    await fail(one, 3)
    await eventually(lambda: bool(heard))
    assert heard == [BreakerChange("k", CLOSED, OPEN, "remote", 500.0)]
    assert two.breaker_state("k", time.monotonic()) is OPEN
    assert not (await two.breaker_admit("k", IN_A_ROW, time.monotonic())).allowed
    assert mine == []


async def test_one_probe_across_two_stores(stores: Stores, raw: Redis, prefix: str) -> None:
    """Half-open: the single probe slot is shared; the other store is refused."""
    # A break (and probe round) of 10 s, ended by hand: no waiting, and the second admission
    # cannot come after the round's end however slow the machine.
    policy = BreakerPolicy(failure_ratio=None, consecutive_failures=3, break_duration=10.0)
    one, two = stores(), stores()
    for _ in range(3):
        await one.breaker_record("k", policy, 0.0, failed=True, probe=False)
    await raw.hset(f"{prefix}cb:k", "u", "0")  # the break is over
    decisions = [
        await one.breaker_admit("k", policy, 20.0),  # past the local view's break too
        await two.breaker_admit("k", policy, 20.0),
    ]
    assert [(d.allowed, d.probe) for d in decisions] == [(True, True), (False, False)]
    assert decisions[1].state is HALF_OPEN
    trips = one.round_trips
    again = await one.breaker_admit("k", policy, 20.0)  # half-open is always asked of Redis
    assert (again.allowed, one.round_trips) == (False, trips + 1)


async def test_a_failing_callback_is_logged_and_others_still_run(
    stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber that raises is logged; the next one is called; unsubscribed ones are not."""
    one, two = stores(), stores()
    heard: list[BreakerChange] = []

    def broken(change: BreakerChange) -> None:
        raise RuntimeError("subscriber bug")

    two.subscribe_breaker_changes(broken)
    two.subscribe_breaker_changes(heard.append)
    gone: list[BreakerChange] = []
    unsubscribe = two.subscribe_breaker_changes(gone.append)
    unsubscribe()
    unsubscribe()  # twice is fine
    await listening(two)
    with caplog.at_level(logging.ERROR, "toolware.state.redis"):
        await one.breaker_force("k", ISOLATED, 0.0)
        await eventually(lambda: bool(heard))
    assert caplog.messages == ["redis.callback_failed key=k error=RuntimeError"]
    assert gone == []


async def test_a_closed_breaker_key_expires_after_its_window(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """Counts live window + 1 s in Redis; an isolated key has no expiry."""
    state = stores()
    await state.breaker_record("k", BreakerPolicy(window=2.0), 0.0, failed=True, probe=False)
    assert 1_000 < await raw.pttl(f"{prefix}cb:k") <= 3_000  # PX 3000, read a moment later
    await state.breaker_force("i", ISOLATED, 0.0)
    assert await raw.pttl(f"{prefix}cb:i") == -1


async def test_aclose_stops_the_listener(stores: Stores) -> None:
    """After aclose no task of the store is left running."""
    state = stores()
    await state.breaker_admit("k", IN_A_ROW, 0.0)
    task = state._breakers._listener
    assert task is not None
    assert not task.done()
    await state.aclose()
    assert task.done()
    assert state.listening is False


@needs_memory_breakers
async def test_a_foreign_value_under_a_breaker_key_falls_back_once(
    stores: Stores, raw: Redis, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A hash with an unknown state: local answer, logged, key deleted, not degraded."""
    state = stores()
    await raw.hset(f"{prefix}cb:k", mapping={"s": "bogus"})
    with caplog.at_level(logging.WARNING, "toolware.state.redis"):
        assert (await state.breaker_admit("k", IN_A_ROW, 0.0)).allowed
    assert caplog.messages == [f"redis.bad_value key={prefix}cb:k detail=unknown state"]
    assert await raw.exists(f"{prefix}cb:k") == 0
    assert state.status().degraded is False


async def calls_counted(raw: Redis, key: str) -> int:
    fields = await raw.hgetall(key)
    return sum(int(v) for f, v in fields.items() if f.startswith(b"n"))


async def test_successes_of_a_closed_breaker_go_in_batches(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """breaker_batch=4: three successes are held, the fourth sends all four at once."""
    state = stores(breaker_batch=4)
    await state.breaker_admit("k", IN_A_ROW, 0.0)
    for _ in range(3):
        assert await state.breaker_record("k", IN_A_ROW, 0.0, failed=False, probe=False) is None
    assert state.round_trips == 1
    await state.breaker_record("k", IN_A_ROW, 0.0, failed=False, probe=False)
    assert state.round_trips == 2
    assert await calls_counted(raw, f"{prefix}cb:k") == 4


async def test_held_successes_are_sent_after_a_tenth_of_the_window(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """Window 10 s: a success held since 0 is sent with the one at 1.0, not at 0.999."""
    policy = BreakerPolicy(window=10.0)
    state = stores()
    await state.breaker_admit("k", policy, 0.0)
    await state.breaker_record("k", policy, 0.0, failed=False, probe=False)
    await state.breaker_record("k", policy, 0.999, failed=False, probe=False)
    assert state.round_trips == 1
    await state.breaker_record("k", policy, 1.0, failed=False, probe=False)
    assert state.round_trips == 2
    assert await calls_counted(raw, f"{prefix}cb:k") == 3


async def test_a_failure_carries_the_successes_held_before_it(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """ok x3 held, then failures: the ratio counts the successes, as one process saw them."""
    policy = BreakerPolicy(failure_ratio=0.5, minimum_calls=4, window=30.0)
    state = stores()
    await state.breaker_admit("k", policy, 0.0)
    for _ in range(3):
        await state.breaker_record("k", policy, 0.0, failed=False, probe=False)
    changes = [
        await state.breaker_record("k", policy, 0.0, failed=True, probe=False) for _ in range(3)
    ]
    assert [c and c.reason for c in changes] == [None, None, "failure_ratio"]  # 3 of 6
    assert state.round_trips == 4


async def test_a_held_success_ends_the_run_of_failures(stores: Stores) -> None:
    """fail, fail, ok (held), fail: the held success breaks the run; no opening."""
    state = stores()
    await fail(state, 2)
    await state.breaker_record("k", IN_A_ROW, T(), failed=False, probe=False)
    trips = state.round_trips
    assert await fail(state, 2) == [None, None]
    assert state.round_trips == trips + 2


async def test_breaker_batch_one_sends_every_success(stores: Stores) -> None:
    """With breaker_batch=1 each success is a round trip."""
    state = stores(breaker_batch=1)
    await state.breaker_admit("k", IN_A_ROW, 0.0)
    for _ in range(3):
        await state.breaker_record("k", IN_A_ROW, 0.0, failed=False, probe=False)
    assert state.round_trips == 4


async def test_held_successes_are_bounded_like_the_local_view(
    stores: Stores, raw: Redis, prefix: str
) -> None:
    """max_local_keys=1: holding b's success forgets a's, which never reaches Redis."""
    state = stores(max_local_keys=1)
    await state.breaker_admit("a", IN_A_ROW, 0.0)
    await state.breaker_record("a", IN_A_ROW, 0.0, failed=False, probe=False)
    await state.breaker_admit("b", IN_A_ROW, 0.0)
    await state.breaker_record("b", IN_A_ROW, 0.0, failed=False, probe=False)
    await state.breaker_record("a", IN_A_ROW, 0.0, failed=True, probe=False)
    assert await calls_counted(raw, f"{prefix}cb:a") == 1
