"""Which keys written to a link its server never received, for when the link is given up.

A stalled link that is given up (a probe won) is reset, not closed gracefully: otherwise the
kernel resends the keys queued on it once the network returns, and they reach the tmux
session after the keys sent since over the new link. The reset loses what was queued, so
first the keys the server never received are found, to be sent again over the new link.

TCP delivers in order and sshd acts only on whole SSH packets, so a key write whose last byte
lies beyond what the server's kernel acknowledged was never typed into the session, and
neither was any write after it. Bytes it did acknowledge are read by sshd, even after our
reset. So after each write of keys, the position of its last byte in the TCP stream is noted:
bytes acknowledged + bytes the kernel still queues + bytes the asyncio transport still holds
(``platform.tcp.send_progress``). asyncssh hands a channel's data to the transport at once,
except during a key exchange or while the channel's window is full: such a write does not
move the position, and where it lies in the stream stays unknown.

An acknowledgement may still be on its way when the link is given up: then the server has the
bytes, and sending them again would type them twice. So when keys are outstanding and data
went out less than a round trip plus the longest delayed ACK ago (srtt + 4 rttvar + 200 ms),
the answer waits for that to pass, polling, at most SETTLE_LIMIT. The usual case (nothing
typed into the stalled link, or its last retransmission long past) is answered at once.

What cannot be told gives nothing back: the link is reset and its outstanding keys are lost,
never sent twice and never late. That is so without a socket of ours (a ProxyCommand carries
the connection), on a kernel without tcpi_bytes_acked (Linux < 4.1), when a write's place in
the stream is unknown, and when data is still going out at the limit. Left as they are: an
acknowledgement the network lost for good (the server has the bytes, we never learn it) looks
like bytes never received; and through jump hosts the socket is the first hop's, so "received"
means received by the first jump host, which forwards on its own connection.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from termkeep.platform.tcp import SendProgress, send_progress

SETTLE_POLL = 0.01
"""Seconds between looks at the socket while an acknowledgement may be on its way."""

SETTLE_LIMIT = 1.5
"""Longest wait for acknowledgements in flight. TCP resends at most a second apart here (the
capped RTO), so a gap of srtt + 200 ms without sending comes well within it."""

DELAYED_ACK_MAX = 0.2
"""Longest a Linux receiver holds an acknowledgement back (TCP_DELACK_MAX)."""


@dataclass(frozen=True, slots=True)
class _Write:
    data: bytes
    end: int | None
    """Stream position just after its last byte; None when asyncssh held it back."""


class SentKeys:
    """The key writes on one link that its server may not have received yet.

    ``sock`` is the TCP socket that carries the link's bytes (None: no socket of ours, so
    nothing can be told); ``backlog`` says how many bytes the asyncio transport over it has
    not handed to the kernel yet.
    """

    def __init__(self, sock: socket.socket | None, backlog: Callable[[], int]) -> None:
        self._sock = sock
        self._backlog = backlog
        self._writes: deque[_Write] = deque()

    def write(self, send: Callable[[bytes], None], data: bytes) -> None:
        """Send ``data`` with ``send`` and note where its last byte lies in the stream."""
        if self._sock is None:
            send(data)
            return
        before = self._position()
        send(data)
        after = self._position()
        end = None
        # An SSH packet is longer than its data: less movement means it was held back.
        if before is not None and after is not None and after[0] - before[0] >= len(data):
            end = after[0]
        self._writes.append(_Write(data, end))
        if after is not None:
            self._forget_received(after[1].acked)

    @property
    def outstanding(self) -> int:
        """Bytes of keys written whose receipt is not known yet (as of the last write)."""
        return sum(len(write.data) for write in self._writes)

    async def unreceived(self) -> bytes:
        """The keys written that the server never received, oldest first, once no
        acknowledgement can still be on its way; b"" when there are none or it cannot be
        told (see the module's notes)."""
        if self._sock is None:
            return b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        while True:
            position = self._position()
            if position is None:
                return b""
            progress = position[1]
            keys = self._unreceived(progress.acked)
            if not keys:
                return b""
            if progress.last_send_age >= _ack_wait(progress):
                return keys
            if loop.time() >= deadline:
                return b""
            await asyncio.sleep(SETTLE_POLL)

    def _position(self) -> tuple[int, SendProgress] | None:
        """The stream position after everything handed over so far, and the reading."""
        assert self._sock is not None
        progress = send_progress(self._sock)
        if progress is None:
            return None
        return progress.written + self._backlog(), progress

    def _forget_received(self, acked: int) -> None:
        """Drop the writes the server has: up to the last one that ends within ``acked``
        (a write of unknown place before it went out before it)."""
        received = 0
        for index, write in enumerate(self._writes, start=1):
            if write.end is None:
                continue
            if write.end > acked:
                break
            received = index
        for _ in range(received):
            self._writes.popleft()

    def _unreceived(self, acked: int) -> bytes | None:
        """The writes beyond ``acked``; None when the first of them has no known place (it
        may have gone out and been received, or not)."""
        self._forget_received(acked)
        if not self._writes:
            return b""
        if self._writes[0].end is None:
            return None
        return b"".join(write.data for write in self._writes)


def _ack_wait(progress: SendProgress) -> float:
    """How long after data went out its acknowledgement may still come back."""
    return progress.rtt + 4 * progress.rttvar + DELAYED_ACK_MAX
