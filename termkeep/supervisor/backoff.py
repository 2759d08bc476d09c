"""Delays between reconnect probes: exponential, capped, with seeded jitter.

The delay is a pure function of the settings, a seed and the attempt number, so the state
machine can stay pure (no random generator inside its frozen state) and a test can predict
every delay from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from termkeep.config.profile import ReconnectSettings


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial_delay * multiplier**(attempt-1)``, capped at
    ``max_delay``, then shortened by up to ``jitter`` of itself.

    Jitter only ever shortens the delay, so the cap is a real upper bound and tabs that all
    hit the cap still spread out instead of probing in lockstep.
    """

    initial_delay: float = 0.25
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.initial_delay < 0:
            problems.append("initial_delay must be >= 0")
        if self.multiplier < 1:
            problems.append("multiplier must be >= 1")
        if self.max_delay < self.initial_delay:
            problems.append("max_delay must be >= initial_delay")
        if not 0 <= self.jitter <= 1:
            problems.append("jitter must be between 0 and 1")
        if problems:
            raise ValueError("invalid reconnect backoff: " + "; ".join(problems))

    @classmethod
    def from_settings(cls, settings: ReconnectSettings, seed: int) -> Backoff:
        """The backoff a profile's ``[reconnect]`` section describes."""
        return cls(
            initial_delay=settings.initial_delay,
            multiplier=settings.multiplier,
            max_delay=settings.max_delay,
            jitter=settings.jitter,
            seed=seed,
        )

    def base_delay(self, attempt: int) -> float:
        """The delay after ``attempt`` probes (1-based) before jitter."""
        if attempt < 1:
            return 0.0
        # Stop multiplying once past the cap: multiplier**attempt would overflow a float
        # after about a thousand attempts.
        delay = self.initial_delay
        for _ in range(attempt - 1):
            if delay >= self.max_delay:
                break
            delay *= self.multiplier
        return min(delay, self.max_delay)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after ``attempt`` probes (1-based) before the next one."""
        base = self.base_delay(attempt)
        return base * (1.0 - self.jitter * self._unit_random(attempt))

    def _unit_random(self, attempt: int) -> float:
        # A string seed is hashed with SHA-512 by random.Random, so the value depends only
        # on (seed, attempt): the same on every run and every machine, whatever
        # PYTHONHASHSEED is.
        return random.Random(f"{self.seed}:{attempt}").random()  # noqa: S311 - not crypto
