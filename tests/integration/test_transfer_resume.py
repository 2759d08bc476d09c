"""Transfers survive drops, on the real sshd in its network namespace: a silent blackhole
long enough for the keepalive to give the connection up, and a server-side abort (every
per-connection sshd and its sftp-server killed). The transfer waits for the link, resumes on
a new connection from the last offset every block below was acknowledged at, ends with the
SHA-256 of both ends equal, and sends again at most one window of blocks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from termkeep.config.profile import KeepaliveSettings, ReconnectSettings
from termkeep.session.transfers import TransferSession
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.supervisor import Supervisor
from termkeep.transfers.model import Check, Direction, Existing, ExistingFile, TransferState
from termkeep.transfers.names import PART_SUFFIX
from termkeep.transport.prompts import TerminalPrompter
from termkeep.transport.ssh.sftp import MAX_BLOCK
from tests.fixtures.netns import NetnsSshServer
from tests.fixtures.profiles import profile_for
from tests.fixtures.sftp import with_sftp
from tests.fixtures.waiting import bounded, wait_until_async

FILE_SIZE = 48 * 1024 * 1024
REQUESTS = 8
"""Requests in flight in these tests: a small window makes "at most one window" a tight
bound."""
WINDOW = REQUESTS * MAX_BLOCK
WAIT = 90.0


async def until(condition: Callable[[], object], what: str) -> None:
    await wait_until_async(condition, timeout=WAIT, what=what)


async def refuse(_existing: ExistingFile) -> Existing:
    return Existing.REFUSE


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir()
    remote.mkdir()
    (local / "data.bin").write_bytes(os.urandom(FILE_SIZE))
    return local, remote


class Run:
    """A transfer session for ``server``, as a tab holds one (its own bare connection)."""

    def __init__(self, server: NetnsSshServer) -> None:
        profile = profile_for(
            server,
            keepalive=KeepaliveSettings(interval=1.0, count_max=2),
            reconnect=ReconnectSettings(connect_timeout=2.0, max_delay=1.0),
        )
        self.session = TransferSession(
            profile, TerminalPrompter(), decide=refuse, requests=REQUESTS
        )
        self.supervisor: Supervisor = self.session.core.supervisor
        self.service = self.session.service
        self.states: list[TransferState] = []
        self.session.add_listener(lambda view: self.states.append(view.state))

    async def __aenter__(self) -> Run:
        await self.session.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.session.close()


def start(run: Run, direction: Direction, local: Path, remote: Path) -> int:
    if direction is Direction.UPLOAD:
        return run.service.upload(local / "data.bin", str(remote))
    (remote / "data.bin").write_bytes((local / "data.bin").read_bytes())
    (local / "data.bin").rename(local / "original.bin")
    return run.service.download(str(remote / "data.bin"), local)


def arrived(direction: Direction, local: Path, remote: Path) -> tuple[Path, Path]:
    """(the source, the copy) once the transfer is done."""
    if direction is Direction.UPLOAD:
        return local / "data.bin", remote / "data.bin"
    return local / "original.bin", local / "data.bin"


async def finish_and_check(run: Run, ident: int, source: Path, copy: Path) -> None:
    await bounded(run.session.wait_idle(), timeout=WAIT, what="the transfer to end")
    view = run.service.view(ident)
    assert view.state is TransferState.DONE, view.reason
    assert view.check is Check.SHA256
    assert digest(copy) == digest(source)
    assert TransferState.WAITING in run.states
    assert 0 < view.resent <= WINDOW
    assert not list(copy.parent.glob(f"*{PART_SUFFIX}"))


@pytest.mark.parametrize("direction", [Direction.UPLOAD, Direction.DOWNLOAD])
async def test_a_transfer_resumes_across_a_blackhole_the_keepalive_gave_up_on(
    netns_sshd: NetnsSshServer, dirs: tuple[Path, Path], direction: Direction
) -> None:
    local, remote = dirs
    with_sftp(netns_sshd)
    async with Run(netns_sshd) as run:
        ident = start(run, direction, local, remote)
        await until(lambda: run.service.view(ident).done >= FILE_SIZE // 4, "a quarter moved")
        with netns_sshd.blackhole():  # applied at once: the event loop waits for it
            await until(
                lambda: run.supervisor.status().state is Phase.RECONNECTING,
                "the connection given up as lost",
            )
            assert run.service.view(ident).state is TransferState.WAITING
        await finish_and_check(run, ident, *arrived(direction, local, remote))
    assert netns_sshd.connection_count() >= 2


@pytest.mark.parametrize("direction", [Direction.UPLOAD, Direction.DOWNLOAD])
async def test_a_transfer_resumes_after_a_server_side_abort(
    netns_sshd: NetnsSshServer, dirs: tuple[Path, Path], direction: Direction
) -> None:
    local, remote = dirs
    with_sftp(netns_sshd)
    async with Run(netns_sshd) as run:
        ident = start(run, direction, local, remote)
        await until(lambda: run.service.view(ident).done >= FILE_SIZE // 4, "a quarter moved")
        killed = netns_sshd.kill_connections()  # sshd and sftp-server, mid-transfer
        assert killed
        await finish_and_check(run, ident, *arrived(direction, local, remote))
    assert netns_sshd.connection_count() >= 2
