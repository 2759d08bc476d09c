"""Backoff: exponential growth, the cap, jitter bounds and determinism by seed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.config.profile import ReconnectSettings
from termkeep.supervisor.backoff import Backoff


def test_without_jitter_the_delay_doubles_until_the_cap() -> None:
    backoff = Backoff(initial_delay=0.25, multiplier=2.0, max_delay=3.0, jitter=0.0)
    assert [backoff.delay(k) for k in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 3.0, 3.0]


def test_no_attempt_yet_means_no_delay() -> None:
    assert Backoff(jitter=0.0).delay(0) == 0.0


def test_a_huge_attempt_number_stays_at_the_cap() -> None:
    backoff = Backoff(initial_delay=0.25, multiplier=2.0, max_delay=30.0, jitter=0.0)
    assert backoff.delay(100_000) == 30.0


@given(
    seed=st.integers(0, 2**32),
    attempt=st.integers(1, 60),
    jitter=st.floats(0.0, 1.0),
)
def test_jitter_only_shortens_and_stays_within_its_fraction(
    seed: int, attempt: int, jitter: float
) -> None:
    backoff = Backoff(initial_delay=0.25, multiplier=2.0, max_delay=30.0, jitter=jitter, seed=seed)
    base = backoff.base_delay(attempt)
    delay = backoff.delay(attempt)
    assert base * (1 - jitter) - 1e-12 <= delay <= base <= 30.0


def test_the_same_seed_gives_the_same_delays_and_another_seed_other_ones() -> None:
    first = [Backoff(seed=42).delay(k) for k in range(1, 20)]
    again = [Backoff(seed=42).delay(k) for k in range(1, 20)]
    other = [Backoff(seed=43).delay(k) for k in range(1, 20)]
    assert first == again
    assert first != other


def test_jitter_actually_spreads_delays_at_the_cap() -> None:
    # Tabs that all reached the cap must not probe in lockstep.
    delays = {Backoff(seed=seed, max_delay=30.0).delay(50) for seed in range(20)}
    assert len(delays) == 20
    assert all(24.0 <= d <= 30.0 for d in delays)


def test_from_settings_takes_the_profile_numbers() -> None:
    settings = ReconnectSettings(initial_delay=1.0, multiplier=3.0, max_delay=9.0, jitter=0.0)
    backoff = Backoff.from_settings(settings, seed=5)
    assert [backoff.delay(k) for k in (1, 2, 3, 4)] == [1.0, 3.0, 9.0, 9.0]
    assert backoff.seed == 5


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"initial_delay": -1.0}, "initial_delay must be >= 0"),
        ({"multiplier": 0.5}, "multiplier must be >= 1"),
        ({"max_delay": 0.1}, "max_delay must be >= initial_delay"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(changes: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Backoff(**changes)  # type: ignore[arg-type]
