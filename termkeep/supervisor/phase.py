"""The names of a session's phases, one vocabulary for the state machine, its status, the
tab, the status line, the connection history and the headless commands."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """Where a session is: the supervisor's phase, as every status shows it."""

    IDLE = "idle"
    """Not started yet."""
    CONNECTING = "connecting"
    """The first connection (or the first after the user resolved a problem)."""
    ATTACHED = "attached"
    """A link is up and carries the session."""
    STALLED = "stalled"
    """The link went silent; kept while probes try to replace it."""
    RECONNECTING = "reconnecting"
    """The link is gone; probing for a new one."""
    NEEDS_USER = "needs-user"
    """Retrying cannot help (authentication, unknown host key); waiting for the user."""
    DETACHED = "detached"
    """The user detached from tmux; the session lives on on the server."""
    ENDED = "ended"
    """The shell exited or the tmux session ended."""
    FAILED = "failed"
    """Gave up: the host key changed, or the link was lost with reconnect turned off."""
    CLOSED = "closed"
    """The tab closed."""

    @property
    def connected(self) -> bool:
        """Whether closing the tab would cut a live (or recoverable) session."""
        return self in _LIVE

    @property
    def lost(self) -> bool:
        """Whether this is an outage the supervisor is working on."""
        return self in _LOST


_LOST = frozenset({Phase.STALLED, Phase.RECONNECTING})
_LIVE = frozenset({Phase.CONNECTING, Phase.ATTACHED, *_LOST})
