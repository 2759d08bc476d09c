"""Records a session's connection history from its supervisor's updates.

A drop starts when an attached session stalls or loses its link, and ends when it is attached
again (recovered) or when the session gives up, ends or closes first. The recorder follows
status changes only, so the tab and ``termkeep attach`` record alike; each finished drop is
appended to the connection history file at once (``records.connection_history``). It counts
bytes, never keeps them: what was typed or received is never recorded.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from termkeep.records.connection_history import (
    ConnectionHistory,
    Drop,
    HistoryJournal,
    RttTimeline,
    clean_text,
    event_record,
)
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Notice, Update
from termkeep.transport.link import Link

_log = logging.getLogger(__name__)

_DOWN = frozenset({Phase.STALLED, Phase.RECONNECTING})
"""States that start a drop when the session was attached."""
_GAVE_UP = frozenset({Phase.FAILED, Phase.ENDED, Phase.DETACHED, Phase.CLOSED})
"""States that end a drop without a recovery."""

type Warn = Callable[[str], None]
type CurrentLink = Callable[[], Link | None]


class ConnectionRecorder:
    """One session's drops, RTT samples, byte counts and held keys' fate."""

    def __init__(
        self,
        profile: str,
        host: str,
        journal: HistoryJournal | None,
        *,
        current_link: CurrentLink = lambda: None,
        warn: Warn | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_id = secrets.token_hex(4)
        self._profile = clean_text(profile)
        self._host = clean_text(host)
        self._journal = journal
        self._current_link = current_link
        self._warn = warn
        self._wall = wall_clock
        self._monotonic = monotonic
        self._started = wall_clock()
        self._drops: list[Drop] = []
        self._ongoing: Drop | None = None
        self._ongoing_since = 0.0
        """Monotonic time the ongoing drop was noticed (recovery times are not wall time)."""
        self._state = Phase.IDLE
        self._attached_link: Link | None = None
        self._held = 0
        self._held_dropped = 0
        self._rtt = RttTimeline()
        self._last_rtt: float | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.held_delivered = 0
        self.held_discarded = 0
        self._closed = False

    def begin(self) -> None:
        """The session starts: write its ``open`` record (called once its listeners are in
        place, so a history file that cannot be written is reported to them)."""
        self._write(event_record("open", *self._identity(), self._started))

    def follow(self, supervisor: Supervisor) -> None:
        """Record what ``supervisor`` reports from now on."""
        self._current_link = lambda: supervisor.current_link
        supervisor.add_listener(self.update)
        supervisor.add_held_keys_listener(self.held_keys)
        supervisor.add_reply_listener(self.sent)

    def received(self, count: int) -> None:
        """``count`` bytes came from the remote."""
        self.bytes_in += count

    def sent(self, count: int) -> None:
        """``count`` bytes were handed to the link (typed keys, terminal replies); keys
        that are later discarded are taken off again."""
        self.bytes_out += count

    def update(self, update: Update) -> None:
        """A status change (or notice) of the supervisor."""
        if isinstance(update, Notice):
            return
        self._rtt_sample(update)
        self._held, self._held_dropped = update.held, update.held_dropped
        previous, self._state = self._state, update.state
        if update.state is Phase.ATTACHED:
            self._attached(previous)
        elif previous is Phase.ATTACHED and update.state in _DOWN:
            self._begin_drop(update)
        elif previous is Phase.ATTACHED and update.state is Phase.FAILED:
            self._begin_drop(update)  # reconnect is off: dropped and given up at once
            self._end_drop_unrecovered(update.state)
        elif update.state in _GAVE_UP:
            self._end_drop_unrecovered(update.state)

    def held_keys(self, delivered: bool) -> None:
        """The keys held during the outage were delivered (or discarded); the status just
        before said how many."""
        lost = self._held_dropped + (0 if delivered else self._held)
        kept = self._held if delivered else 0
        self.held_delivered += kept
        self.held_discarded += lost
        self.bytes_out -= lost
        if self._ongoing is not None:
            self._ongoing = replace(
                self._ongoing,
                held_delivered=self._ongoing.held_delivered + kept,
                held_discarded=self._ongoing.held_discarded + lost,
            )

    def away(self, text: str) -> None:
        """What the pane did during the drop just recovered ("while you were away"): kept
        with that drop, and written as an ``away`` record of its own (the drop's record was
        written at the reattach, before the pane could be read)."""
        text = clean_text(text)
        if self._drops and self._ongoing is None:
            self._drops[-1] = replace(self._drops[-1], away=text)
        self._write(event_record("away", *self._identity(), self._wall()) | {"text": text})

    def close(self) -> None:
        """The session is closing: finish an ongoing drop and write the totals."""
        if self._closed:
            return
        self._end_drop_unrecovered(Phase.CLOSED)
        self._closed = True
        record = event_record("close", *self._identity(), self._wall())
        rtt = self._rtt.stats
        record |= {
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "held_delivered": self.held_delivered,
            "held_discarded": self.held_discarded,
            "drops": len(self._drops),
            "rtt_samples": rtt.count if rtt else 0,
            "rtt_low": rtt.low if rtt else None,
            "rtt_high": rtt.high if rtt else None,
        }
        self._write(record)

    def snapshot(self) -> ConnectionHistory:
        """The connection history so far, for the tab's view."""
        now = self._wall()
        ongoing = self._ongoing
        if ongoing is not None:
            ongoing = replace(ongoing, end=now)
        return ConnectionHistory(
            profile=self._profile,
            host=self._host,
            started=self._started,
            now=now,
            drops=tuple(self._drops),
            ongoing=ongoing,
            rtt=self._rtt.bars(),
            rtt_stats=self._rtt.stats,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            held_delivered=self.held_delivered,
            held_discarded=self.held_discarded,
        )

    def _identity(self) -> tuple[str, str, str]:
        return self.session_id, self._profile, self._host

    def _rtt_sample(self, status: Status) -> None:
        # A status is published for every new RTT (it is part of what a status line shows).
        if status.rtt is not None and status.rtt != self._last_rtt:
            self._last_rtt = status.rtt
            self._rtt.add(status.rtt)

    def _attached(self, previous: str) -> None:
        link = self._current_link()
        drop = self._ongoing
        if drop is not None and previous is not Phase.ATTACHED:
            recovery = self._monotonic() - self._ongoing_since
            if link is not None and link is self._attached_link:
                same: bool | None = True  # the old connection itself came back
            elif link is None or not link.tmux:
                same = None
            else:
                same = link.reattached_existing
            self._finish(replace(drop, end=self._wall(), recovery=recovery, same_tmux=same))
        self._attached_link = link

    def _begin_drop(self, status: Status) -> None:
        if self._ongoing is not None:
            return
        cause = status.detail or (str(status.cause) if status.cause else "unknown")
        self._ongoing_since = self._monotonic()
        now = self._wall()
        self._ongoing = Drop(
            *self._identity(),
            start=now,
            end=now,
            cause=clean_text(cause),
            recovery=None,
            same_tmux=None,
        )

    def _end_drop_unrecovered(self, outcome: str) -> None:
        drop = self._ongoing
        if drop is not None:
            self._finish(replace(drop, end=self._wall(), outcome=outcome))

    def _finish(self, drop: Drop) -> None:
        self._ongoing = None
        self._drops.append(drop)
        self._write(drop.record())

    def _write(self, record: dict[str, Any]) -> None:
        """Append to the connection history file; one that cannot be written is given up (said
        once), and the session goes on."""
        journal = self._journal
        if journal is None:
            return
        try:
            journal.append(record)
        except OSError as error:
            self._journal = None
            _log.debug("connection history not written", exc_info=True)
            if self._warn is not None:
                self._warn(f"connection history not saved: {error.strerror or error}")
