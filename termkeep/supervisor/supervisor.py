"""The runner: feeds real happenings into the pure state machine and carries out its effects.

``Supervisor`` owns the asyncio side of keeping a session attached: probe tasks that call the
``Connector``, the active link and the links that lost a race, a single timer, pings, a watch
on each active link's ending, and a subscription to the process's network watch. Every
decision is made by ``state.step``; this module only translates between it and the world, so
it stays small and every branch of the logic is tested without sockets.

Bytes from the active link go straight to the owner's ``on_data`` sink. Bytes a probe
receives before it wins (tmux's first redraw) are buffered and handed over when it is
promoted, and dropped if it loses.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from termkeep.platform.netroutes import local_network_fingerprint
from termkeep.supervisor.clock import Clock, RealClock
from termkeep.supervisor.events import (
    ApplyResize,
    CancelProbe,
    CloseLink,
    CloseRequested,
    ConnectRequested,
    DataReceived,
    DeliverHeldKeys,
    DiscardHeldKeys,
    Effect,
    Event,
    KeyTyped,
    LinkEnded,
    LinkReset,
    NetworkChanged,
    Notify,
    PingReplied,
    ProbeFailed,
    ProbeReached,
    ProbeSucceeded,
    Promote,
    ReconnectNow,
    ResetLink,
    Resized,
    ScheduleTimer,
    SendKeys,
    SendPing,
    SendReply,
    StartProbe,
    TerminalReply,
    Tick,
    UserResolved,
)
from termkeep.supervisor.netwatch import FingerprintSource, NetworkWatch, shared_watch
from termkeep.supervisor.state import (
    Policy,
    State,
    Status,
    initial_state,
    status_of,
    step,
)
from termkeep.supervisor.updates import Notice, Update, UpdateStream
from termkeep.transport.link import Cause, ConnectFailedError, Connector, DataSink, Ending, Link

_log = logging.getLogger(__name__)

PROBE_BUFFER_LIMIT = 1 << 20
"""Bytes a probe may receive before it is promoted (a full-screen redraw is far less)."""

CONTACT_REPORT_INTERVAL = 0.05
"""Seconds between reports of received data to the state machine while data keeps coming.
In a flood, chunks arrive every few hundred microseconds, and a state-machine step per loop
turn took ~7 % of the app's CPU, taken from the remote when both share a machine. Contact
known to within 50 ms is plenty for deadlines counted in seconds, and every timer tick
reports pending contact first, so no stall is ever declared over data that did arrive."""


type Listener = Callable[[Update], None]
type HeldKeysListener = Callable[[bool], None]
"""Told what became of keys held during an outage: True delivered, False discarded."""
type ReplyListener = Callable[[int], None]
"""Told the length of each terminal reply written to the link."""
type NetworkFingerprint = FingerprintSource


class Supervisor:
    """Keeps one session attached through stalls, drops and server restarts.

    ``connector`` makes one fresh attached connection per call; ``on_data`` receives every
    byte the server sends on the active link. Call ``start()`` once, then ``write``,
    ``resize``, ``reconnect_now``, ``resolved`` as the user acts, and ``close()`` at the end.
    Status changes and notices reach listeners (``add_listener``) and ``updates()`` readers.
    """

    def __init__(
        self,
        connector: Connector,
        on_data: DataSink,
        policy: Policy,
        *,
        size: tuple[int, int] = (80, 24),
        clock: Clock | None = None,
        network_fingerprint: NetworkFingerprint | None = local_network_fingerprint,
    ) -> None:
        self._connector = connector
        self._on_data = on_data
        self._clock: Clock = clock or RealClock()
        self._network_fingerprint = network_fingerprint
        self._state: State = initial_state(policy, size)
        self._inbox: deque[Event] = deque()
        self._feeding = False
        self._links: dict[int, Link] = {}
        self._active: int | None = None
        self._probe_tasks: dict[int, asyncio.Task[None]] = {}
        self._probe_buffers: dict[int, bytearray] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}
        self._pings: dict[int, asyncio.Task[None]] = {}
        self._resets: dict[int, tuple[Link, asyncio.Task[None]]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: float | None = None
        self._network_watch: NetworkWatch | None = None
        self._listeners: list[Listener] = []
        self._held_keys_listeners: list[HeldKeysListener] = []
        self._reply_listeners: list[ReplyListener] = []
        self._showing: int | None = None
        """The link whose bytes ``on_data`` is being given right now: the one any query in
        them came over, so the terminal's reply goes back to it and to no other."""
        self._streams: set[UpdateStream] = set()
        self._last_status_key: tuple[object, ...] | None = None
        self._started = False
        self._contact_pending: int | None = None
        self._contact_reported_at = -math.inf
        self._contact_flush: asyncio.Task[None] | None = None
        self._closed = False

    # ---------------------------------------------------------------------------------------
    # The owner's API.

    async def start(self) -> None:
        """Begin connecting (returns at once; follow progress with ``updates()``)."""
        if self._started:
            return
        self._started = True
        if self._network_fingerprint is not None:
            self._network_watch = shared_watch(self._network_fingerprint, self._clock)
            self._network_watch.subscribe(self._network_changed)
        self._feed(ConnectRequested())

    def write(self, data: bytes) -> None:
        """Keys typed by the user: sent now, or held while not attached."""
        if data:
            self._feed(KeyTyped(data))

    def reply(self, data: bytes) -> None:
        """The terminal's answer to a query in the bytes being shown (called from within
        ``on_data``): sent at once to the link that asked, if it is still the attached one,
        else dropped. Never held, never counted as typing."""
        if data:
            self._feed(TerminalReply(self._showing, data))

    def resize(self, cols: int, rows: int) -> None:
        """The view's new size: applied now, or at reattach."""
        self._feed(Resized(cols, rows))

    def reconnect_now(self) -> None:
        """Probe at once with a fresh backoff (or reattach after a detach)."""
        self._feed(ReconnectNow())

    def resolved(self) -> None:
        """The user fixed what needed them (credentials, host key): connect again."""
        self._feed(UserResolved())

    def status(self) -> Status:
        """The status right now (ages and countdowns computed at this moment)."""
        return status_of(self._state, self._clock.now())

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every status change and notice (it must not raise)."""
        self._listeners.append(listener)

    def add_held_keys_listener(self, listener: HeldKeysListener) -> None:
        """Call ``listener`` when keys held during an outage are delivered (True) into the
        same session, or discarded (False); before the notice that says so is published."""
        self._held_keys_listeners.append(listener)

    def add_reply_listener(self, listener: ReplyListener) -> None:
        """Call ``listener`` with the length of each terminal reply written to the link."""
        self._reply_listeners.append(listener)

    def updates(self) -> AsyncIterator[Update]:
        """Status changes and notices from now on, until ``close()``."""
        stream = UpdateStream(self._streams)
        self._streams.add(stream)
        if self._closed:
            stream.finish()
        return stream

    async def close(self) -> None:
        """Close every link and probe and stop all background work (tmux stays)."""
        self._closed = True
        self._feed(CloseRequested())
        network_poll = None
        if self._network_watch is not None:
            network_poll = self._network_watch.unsubscribe(self._network_changed)
            self._network_watch = None
        current = asyncio.current_task()
        tasks = [
            task
            for task in (
                *self._probe_tasks.values(),
                *self._watchers.values(),
                *self._pings.values(),
                *(task for _, task in self._resets.values()),
                self._timer,
                self._contact_flush,
                network_poll,
            )
            if task is not None and task is not current
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for link in self._links.values():
            _quietly(link.close)
        self._links.clear()
        # A reset cut short (or never begun: a task cancelled before it ran runs nothing).
        for link, _ in self._resets.values():
            _quietly(link.reset)
        self._resets.clear()
        for stream in list(self._streams):
            stream.finish()

    # ---------------------------------------------------------------------------------------
    # Feeding the state machine.

    def _feed(self, event: Event) -> None:
        """Step the machine with ``event`` and run the effects. An effect that feeds another
        event (a sink called synchronously) queues it instead of recursing."""
        self._inbox.append(event)
        if self._feeding:
            return
        self._feeding = True
        try:
            while self._inbox:
                self._step(self._inbox.popleft())
        finally:
            self._feeding = False

    def _step(self, event: Event) -> None:
        self._state, effects = step(self._state, event, self._clock.now())
        if _log.isEnabledFor(logging.DEBUG) and not isinstance(event, DataReceived | Tick):
            _log.debug(
                "trace: %s -> %s %s",
                _traced(event),
                self._state.phase.name,
                " ".join(
                    _traced(effect) for effect in effects if not isinstance(effect, ScheduleTimer)
                ),
            )
        notices = []
        for effect in effects:
            if isinstance(effect, Notify):
                notices.append(Notice(effect.text))
            else:
                self._run(effect)
        # Publish after every effect ran, so a listener cannot interrupt the bookkeeping.
        updates: list[Update] = [*notices]
        status = self._changed_status()
        if status is not None:
            updates.insert(0, status)
        for update in updates:
            self._publish(update)

    def _changed_status(self) -> Status | None:
        """The status if it changed in a way a status line shows (ages always change)."""
        now = self._clock.now()
        status = status_of(self._state, now)
        retry_at = None if status.retry_in is None else round(now + status.retry_in, 3)
        key = (replace(status, last_contact_age=None, retry_in=None), retry_at)
        if key == self._last_status_key:
            return None
        self._last_status_key = key
        return status

    def announce(self, text: str) -> None:
        """Publish a notice of the session's own (one the state machine does not make)."""
        self._publish(Notice(text))

    def _publish(self, update: Update) -> None:
        for stream in self._streams:
            stream.put(update)
        for listener in self._listeners:
            listener(update)

    # ---------------------------------------------------------------------------------------
    # Effects.

    def _run(self, effect: Effect) -> None:  # noqa: PLR0912 - one branch per effect type
        match effect:
            case StartProbe(probe=probe, size=size):
                self._probe_buffers[probe] = bytearray()
                self._probe_tasks[probe] = asyncio.create_task(self._probe(probe, size))
            case CancelProbe(probe=probe):
                task = self._probe_tasks.pop(probe, None)
                if task is not None:
                    task.cancel()
                self._close_link(probe)
            case CloseLink(link=link):
                self._close_link(link)
            case ResetLink(link=link):
                self._reset_link(link)
            case Promote(probe=probe):
                self._promote(probe)
            case SendKeys(data=data):
                if (active := self._active_link()) is not None:
                    _quietly(active.write, data)
            case SendReply(link=link_id, data=data):
                if (asked := self._links.get(link_id)) is not None:
                    _quietly(asked.write_reply, data)
                    for listener in self._reply_listeners:
                        listener(len(data))
            case DeliverHeldKeys(data=data):
                if (active := self._active_link()) is not None:
                    _quietly(active.write, data)
                self._held_keys_fate(delivered=True)
            case DiscardHeldKeys(count=count):
                _log.debug("discarded %d held bytes", count)
                self._held_keys_fate(delivered=False)
            case ApplyResize(cols=cols, rows=rows):
                if (active := self._active_link()) is not None:
                    _quietly(active.resize, cols, rows)
            case SendPing(link=link_id):
                if link_id in self._links and link_id not in self._pings:
                    self._pings[link_id] = asyncio.create_task(self._ping(link_id))
            case ScheduleTimer(at=at):
                self._arm_timer(at)
            case Notify():  # published by _step
                pass

    @property
    def current_link(self) -> Link | None:
        """The attached link (None while down), for side commands on its connection."""
        return self._active_link()

    def _held_keys_fate(self, *, delivered: bool) -> None:
        for listener in self._held_keys_listeners:
            listener(delivered)

    def _active_link(self) -> Link | None:
        return self._links.get(self._active) if self._active is not None else None

    def _promote(self, probe: int) -> None:
        self._active = probe
        early = self._probe_buffers.pop(probe, None)
        if early:
            self._show(probe, bytes(early))
        link = self._links[probe]
        self._watchers[probe] = asyncio.create_task(self._watch_ending(probe, link))

    def _close_link(self, link_id: int) -> None:
        link = self._forget_link(link_id)
        if link is not None:
            _quietly(link.close)

    def _forget_link(self, link_id: int) -> Link | None:
        """Stop every watch on ``link_id`` and drop it from the books; returns the link."""
        self._probe_buffers.pop(link_id, None)
        for tasks in (self._watchers, self._pings):
            task = tasks.pop(link_id, None)
            if task is not None:
                task.cancel()
        if self._active == link_id:
            self._active = None
        return self._links.pop(link_id, None)

    def _reset_link(self, link_id: int) -> None:
        # Forgotten at once: its bytes, pings and ending no longer count, whatever the
        # reset takes (the transport may wait a moment for acknowledgements in flight).
        link = self._forget_link(link_id)
        if link is None:
            self._feed(LinkReset(link_id))  # already gone: nothing to give back
            return
        self._resets[link_id] = (link, asyncio.create_task(self._reset(link_id, link)))

    def _arm_timer(self, at: float | None) -> None:
        # Every chunk of data moves the stall deadline a little later. A timer that fires
        # earlier than needed only costs a Tick that finds nothing due and re-arms, so an
        # armed timer is kept unless the new time is sooner: no task churn per chunk.
        armed_at = self._timer_at if self._timer is not None else None
        if at is not None and armed_at is not None and armed_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            self._timer = asyncio.create_task(self._fire_at(at))

    # ---------------------------------------------------------------------------------------
    # Background tasks.

    def _sink_for(self, link_id: int) -> DataSink:
        def on_data(data: bytes) -> None:
            if link_id == self._active:
                self._show(link_id, data)
                self._note_contact(link_id)
                return
            buffer = self._probe_buffers.get(link_id)
            if buffer is not None and len(buffer) + len(data) <= PROBE_BUFFER_LIMIT:
                buffer.extend(data)
            # Otherwise: a link that lost the race, or a runaway probe; drop it.

        return on_data

    def _show(self, link_id: int, data: bytes) -> None:
        """Hand ``data`` from ``link_id`` to the owner; replies made meanwhile go back to it."""
        self._showing = link_id
        try:
            self._on_data(data)
        finally:
            self._showing = None

    def _note_contact(self, link_id: int) -> None:
        # The cost per chunk is a flag check. The first data after a quiet spell is reported
        # within the loop turn (it may end a stall); in a flood, once per
        # CONTACT_REPORT_INTERVAL.
        if self._contact_pending is not None:
            return
        self._contact_pending = link_id
        if self._contact_flush is not None:
            return  # a deferred report is on its way and will carry this one
        due = self._contact_reported_at + CONTACT_REPORT_INTERVAL
        if due <= self._clock.now():
            asyncio.get_running_loop().call_soon(self._flush_contact)
        else:
            self._contact_flush = asyncio.create_task(self._flush_contact_at(due))

    async def _flush_contact_at(self, due: float) -> None:
        await self._clock.sleep_until(due)
        self._contact_flush = None
        self._flush_contact()

    def _flush_contact(self) -> None:
        link_id, self._contact_pending = self._contact_pending, None
        if link_id is not None:
            self._contact_reported_at = self._clock.now()
            self._feed(DataReceived(link_id))

    async def _probe(self, probe: int, size: tuple[int, int]) -> None:
        attempt = asyncio.ensure_future(
            self._connector(self._sink_for(probe), size, lambda: self._feed(ProbeReached(probe)))
        )
        try:
            link = await attempt
        except asyncio.CancelledError:
            # The connect may have finished just as we were cancelled: close what it made.
            attempt.add_done_callback(_close_orphan)
            raise
        except ConnectFailedError as exc:
            self._probe_tasks.pop(probe, None)
            self._feed(ProbeFailed(probe, exc.cause, exc.detail, exc.stage))
            return
        except Exception as exc:
            # A transport bug must not leave the probe slot taken forever.
            _log.debug("probe %d failed unexpectedly", probe, exc_info=True)
            self._probe_tasks.pop(probe, None)
            self._feed(ProbeFailed(probe, Cause.PROTOCOL, f"unexpected error: {exc}"))
            return
        self._probe_tasks.pop(probe, None)
        self._links[probe] = link
        self._feed(ProbeSucceeded(probe, link.reattached_existing, link.tmux))

    async def _watch_ending(self, link_id: int, link: Link) -> None:
        try:
            closed = await link.wait_closed()
            event = LinkEnded(link_id, closed.ending, closed.cause, closed.detail)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.debug("wait_closed of link %d failed", link_id, exc_info=True)
            event = LinkEnded(link_id, Ending.LOST, Cause.PROTOCOL, f"unexpected error: {exc}")
        # Forget the link everywhere (its pings too) and release what the transport still
        # holds for it, e.g. jump-host connections; this watcher is done, so not cancelled.
        self._watchers.pop(link_id, None)
        self._close_link(link_id)
        self._feed(event)

    async def _reset(self, link_id: int, link: Link) -> None:
        try:
            unsent = await link.abandon()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Whatever failed, the link is given up: nothing comes back, nothing is sent twice.
            _log.debug("reset of link %d failed", link_id, exc_info=True)
            _quietly(link.reset)
            unsent = b""
        del self._resets[link_id]
        self._feed(LinkReset(link_id, unsent))

    async def _ping(self, link_id: int) -> None:
        link = self._links[link_id]
        try:
            rtt = await link.ping()
        except ConnectFailedError:
            # The link is going away; its wait_closed reports how.
            return
        except Exception:
            # Whatever went wrong, the missing reply is what counts: silence leads to a stall.
            _log.debug("ping of link %d failed unexpectedly", link_id, exc_info=True)
            return
        finally:
            if self._pings.get(link_id) is asyncio.current_task():
                del self._pings[link_id]
        self._feed(PingReplied(link_id, rtt))

    async def _fire_at(self, at: float) -> None:
        await self._clock.sleep_until(at)
        # This timer is done: forget it before the Tick arms the next one.
        self._timer = None
        self._timer_at = None
        # Data that arrived before this tick counts, even if its report was deferred.
        self._flush_contact()
        self._feed(Tick())

    def _network_changed(self) -> None:
        self._feed(NetworkChanged())


def _traced(item: Event | Effect) -> str:
    """An event or effect for the trace, without what the user typed (never logged)."""
    match item:
        case (
            KeyTyped(data=data)
            | SendKeys(data=data)
            | DeliverHeldKeys(data=data)
            | TerminalReply(data=data)
            | SendReply(data=data)
        ):
            return f"{type(item).__name__}({len(data)} bytes)"
        case LinkReset(link=link, unsent=unsent):
            return f"LinkReset({link}, {len(unsent)} bytes unsent)"
        case _:
            return repr(item)


def _close_orphan(attempt: asyncio.Future[Link]) -> None:
    """Close a link that attached after its probe was cancelled."""
    if not attempt.cancelled() and attempt.exception() is None:
        _quietly(attempt.result().close)


def _quietly[*Args](call: Callable[[*Args], None], *args: *Args) -> None:
    """Call into a link that may be dying. A failure there must not break the supervisor's
    bookkeeping halfway through a step: the link's ending is reported by wait_closed."""
    try:
        call(*args)
    except Exception:
        _log.debug("%s failed on a dying link", getattr(call, "__name__", call), exc_info=True)
