"""Keys typed across a silent drop reach the remote in order, exactly once.

A Session attached to the namespace's sshd runs ``stty -echo; cat > FILE``, so every key
that reaches the remote shell lands in FILE, in the order the remote got it. During an
outage the test types numbered tokens, one every 0.1 s: the first ones go into the old
connection (the stall is not noticed yet), the others are held. When a fresh connection takes
over, the old one is reset: nothing it queued may arrive later, after the held keys (that is
what happened with a graceful close: ``k030 ... k039 k020 k021``, and some were lost), and
the keys its server never received are typed again over the new connection, first.

Also here: the accounting under that, on a real connection to the namespace (which key writes
the server's kernel acknowledged), through a silent drop and through added latency.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from termkeep.platform.tcp import send_progress
from termkeep.session.tab_session import Session
from termkeep.transport.prompts import NoPrompter
from termkeep.transport.ssh.link import SshLink
from termkeep.transport.ssh.sent_keys import SentKeys
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.waiting import wait_until_async

TOKEN_GAP = 0.1
TYPING = 2.0
"""Seconds of typing during an outage, a token every TOKEN_GAP: the stall is noticed about a
second after the first (no echo), so about half go into the old connection."""
OUTAGE_AFTER_TYPING = 3.0
ATTACH_WAIT = 30.0
ARRIVAL_WAIT = 30.0
TOKEN = re.compile(rb"k(\d{3}) ")


class Typist:
    """A session whose remote shell writes every key it gets into ``sink``."""

    def __init__(self, session: Session, sink: Path) -> None:
        self.session = session
        self.sink = sink
        self.typed = 0

    async def type_tokens(self, seconds: float) -> None:
        """Type ``k000 ``, ``k001 ``... one every TOKEN_GAP for ``seconds``."""
        for _ in range(round(seconds / TOKEN_GAP)):
            self.session.write(b"k%03d " % self.typed)
            self.typed += 1
            await asyncio.sleep(TOKEN_GAP)

    def arrived(self) -> list[int]:
        return [int(number) for number in TOKEN.findall(self.sink.read_bytes())]

    async def finish(self) -> list[int]:
        """End the line and the input, and return the tokens in the order they arrived."""
        self.session.write(b"\rEND\r")
        await until(lambda: b"END\n" in self.sink.read_bytes(), ARRIVAL_WAIT, "END in the sink")
        return self.arrived()

    async def attached(self) -> None:
        await until(lambda: self.session.status().state == "attached", ATTACH_WAIT, "attached")

    def client_port(self) -> int:
        link = self.session.supervisor.current_link
        assert isinstance(link, SshLink)
        assert link.socket is not None
        port: int = link.socket.getsockname()[1]
        return port


async def until(condition: Callable[[], bool], limit: float, what: str) -> None:
    await wait_until_async(condition, timeout=limit, what=what)


@asynccontextmanager
async def typist(server: NetnsSshServer, tmp_path: Path) -> AsyncIterator[Typist]:
    sink = tmp_path / "keys-arrived"
    sink.touch()
    session = Session(profile_for(server, tmux_session="tk-keys"), NoPrompter(), size=(100, 30))
    await session.start()
    try:
        writer = Typist(session, sink)
        await writer.attached()
        session.write(f"stty -echo; cat > {sink}\r".encode())
        # cat is running once the shell has read the line: the stty's effect shows that.
        session.write(b"ready \r")
        await until(lambda: b"ready" in sink.read_bytes(), ARRIVAL_WAIT, "cat reading keys")
        yield writer
    finally:
        await session.close()


def assert_in_order_once(tokens: list[int], typed: int) -> None:
    assert tokens == sorted(tokens), f"out of order: {tokens}"
    assert len(tokens) == len(set(tokens)), f"typed twice: {tokens}"
    assert tokens == list(range(typed)), f"lost: {sorted(set(range(typed)) - set(tokens))}"


async def test_keys_typed_across_silent_drops_arrive_in_order_exactly_once(
    netns_sshd: NetnsSshServer, tmp_path: Path
) -> None:
    async with typist(netns_sshd, tmp_path) as keys:
        for _ in range(3):
            with netns_sshd.blackhole():  # begins before the first token of the round
                await keys.type_tokens(TYPING)
                await asyncio.sleep(OUTAGE_AFTER_TYPING)  # the outage itself: time
            await keys.attached()
            keys.session.write(b"\r")
        tokens = await keys.finish()
    assert_in_order_once(tokens, keys.typed)


async def test_keys_in_a_connection_that_never_comes_back_arrive_over_the_new_one(
    netns_sshd: NetnsSshServer, tmp_path: Path
) -> None:
    """Only the old connection is cut, for good: the keys typed into it before the stall was
    noticed can only arrive by being typed again over the new one."""
    async with typist(netns_sshd, tmp_path) as keys:
        with netns_sshd.blackhole_connection(keys.client_port()):
            await keys.type_tokens(TYPING)
            await keys.attached()
            tokens = await keys.finish()
    assert_in_order_once(tokens, keys.typed)
    assert keys.session.recorder.held_delivered >= len(b"k000 ")  # given back, as held keys


async def test_a_terminal_reply_in_a_silent_drop_is_never_given_back_as_keys(
    netns_sshd: NetnsSshServer, tmp_path: Path
) -> None:
    """A cursor report answers the link that asked; typed into the next link after a reset it
    would read as keystrokes (issue 20 item 5), so only the keys come back."""
    async with typist(netns_sshd, tmp_path) as keys:
        link = keys.session.supervisor.current_link
        assert isinstance(link, SshLink)
        with netns_sshd.blackhole_connection(keys.client_port()):
            link.write(b"k001 ")
            link.write_reply(b"\x1b[24;80R")
            link.write(b"k002 ")
            assert await link.abandon() == b"k001 k002 "


# --- The accounting on a real connection to the namespace: the sshd's port serves as a peer
# whose kernel acknowledges what we send (sshd itself waits for a version line).


@asynccontextmanager
async def keys_to(
    server: NetnsSshServer,
) -> AsyncIterator[tuple[SentKeys, socket.socket, Callable[[bytes], None]]]:
    """Key accounting over a fresh connection, the socket, and how to type into it."""
    loop = asyncio.get_running_loop()
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=sock)
    assert isinstance(transport, asyncio.WriteTransport)
    try:
        keys = SentKeys(sock, transport.get_write_buffer_size)
        yield keys, sock, lambda data: keys.write(transport.write, data)
    finally:
        transport.abort()


async def test_keys_written_into_a_silent_drop_are_given_back(
    netns_sshd: NetnsSshServer,
) -> None:
    async with keys_to(netns_sshd) as (keys, sock, type_keys):
        await until(lambda: unacknowledged(sock) == 0, 10.0, "the connection settled")
        with netns_sshd.blackhole():
            type_keys(b"k01 ")
            type_keys(b"k02 ")
            assert await keys.unreceived() == b"k01 k02 "


async def test_an_acknowledgement_on_its_way_is_waited_for(netns_sshd: NetnsSshServer) -> None:
    with netns_sshd.delay(150):  # 300 ms round trip
        async with keys_to(netns_sshd) as (keys, sock, type_keys):
            await until(lambda: unacknowledged(sock) == 0, 10.0, "the connection settled")
            type_keys(b"k01 ")
            assert unacknowledged(sock) > 0, "its ACK cannot be back yet"
            # The server has it (or will in 150 ms): typing it again would type it twice.
            assert await keys.unreceived() == b""


def unacknowledged(sock: socket.socket) -> int:
    progress = send_progress(sock)
    assert progress is not None
    return progress.written - progress.acked


pytestmark = pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
