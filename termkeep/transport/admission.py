"""At most a few unauthenticated connections to one SSH server at a time, per process.

sshd counts connections that have not authenticated yet against MaxStartups (default
10:30:100): from 10 on it drops new ones at random, from 30 on all of them. Thirty tabs of
one host reconnecting after the server dropped them all would each lose some probes that
way and have to try again. So every connect to a destination first takes a place here
(first come, first served) and gives it back once authenticated, failed, or handed to a
person (a prompt may take minutes; it must not hold the other tabs back). A connect whose
SYN is not answered within ``SYN_HOLD`` gives its place back too: during an outage the
places would otherwise all sit on SYNs that are lost anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import deque
from collections.abc import Iterator

MAX_STARTING = 8
"""Places per destination: under sshd's default MaxStartups start of 10, with room for
another client of the same host."""

SYN_HOLD = 0.5
"""Seconds a connect may wait on its TCP handshake before it stops holding a place."""


class Ticket:
    """One place at a gate; ``release()`` gives it back (once, whatever calls it again)."""

    def __init__(self, gate: StartupGate) -> None:
        self._gate: StartupGate | None = gate
        self._syn_timer: asyncio.TimerHandle | None = None

    def release(self) -> None:
        """Give the place back (idempotent)."""
        self.connected()
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.hand_over()

    def release_unless_connected(self, within: float = SYN_HOLD) -> None:
        """Give the place back if ``connected()`` is not called within ``within`` seconds."""
        if self._gate is not None:
            self._syn_timer = asyncio.get_running_loop().call_later(within, self.release)

    def connected(self) -> None:
        """The TCP handshake completed: keep the place until ``release()``."""
        if self._syn_timer is not None:
            self._syn_timer.cancel()
            self._syn_timer = None


class StartupGate:
    """First come, first served places for connects to one destination."""

    def __init__(self, limit: int = MAX_STARTING) -> None:
        self._limit = limit
        self._holding = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def holding(self) -> int:
        """Places taken right now."""
        return self._holding

    async def enter(self) -> Ticket:
        """Wait for a place (at once while one is free and nobody queues)."""
        if self._holding < self._limit and not self._waiting:
            self._holding += 1
            return Ticket(self)
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn in self._waiting:
                self._waiting.remove(turn)
            elif turn.done() and not turn.cancelled():
                self.hand_over()  # the place came just as this connect was abandoned
            raise
        return Ticket(self)

    def hand_over(self) -> None:
        """A place came free: give it to the first in line, or count it free."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._holding -= 1


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], StartupGate]]
_gates = weakref.WeakKeyDictionary()


def startup_gate(host: str, port: int) -> StartupGate:
    """The gate for ``host:port`` in this process (one per event loop)."""
    per_loop = _gates.setdefault(asyncio.get_running_loop(), {})
    return per_loop.setdefault((host.lower(), port), StartupGate())


@contextlib.contextmanager
def holding(ticket: Ticket) -> Iterator[Ticket]:
    """Give ``ticket``'s place back when the block ends, however it ends."""
    try:
        yield ticket
    finally:
        ticket.release()
