"""A tab's transfer session (session/transfers.py) against the real sshd and OpenSSH's
sftp-server: its own bare connection (no PTY, no tmux), the on-conflict choice of each call,
cancel, retry and the change listener, as the app's transfers view uses them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from termkeep.session.tab_session import Session
from termkeep.session.transfers import TransferSession
from termkeep.supervisor.phase import Phase
from termkeep.transfers.model import (
    Check,
    Direction,
    Existing,
    ExistingFile,
    TransferState,
    TransferView,
)
from termkeep.transport.prompts import TerminalPrompter
from termkeep.transport.ssh.link import ConnectionLink
from tests.fixtures.profiles import profile_for
from tests.fixtures.sftp import with_sftp
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import bounded

WAIT = 30.0


class Decider:
    """The app's "file exists" dialog: records each question, answers ``answer``."""

    def __init__(self, answer: Existing) -> None:
        self.answer = answer
        self.asked: list[ExistingFile] = []

    async def __call__(self, existing: ExistingFile) -> Existing:
        self.asked.append(existing)
        return self.answer


@pytest.fixture
def sftp_sshd(sshd: SshServer) -> SshServer:
    return with_sftp(sshd)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    local, remote = tmp_path / "local", tmp_path / "remote"
    local.mkdir()
    remote.mkdir()
    return local, remote


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def settle(session: TransferSession) -> list[TransferView]:
    await bounded(session.wait_idle(), timeout=WAIT, what="the queue to empty")
    return session.transfers()


async def test_a_tabs_transfers_go_over_a_second_connection_with_no_pty_and_no_tmux(
    sftp_sshd: SshServer, dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    tab = Session(profile_for(sftp_sshd), TerminalPrompter())  # never started: no tmux yet
    decide = Decider(Existing.REFUSE)
    session = TransferSession.for_tab(tab, TerminalPrompter(), decide=decide)
    files = [local / "a.bin", local / "b.txt"]
    files[0].write_bytes(os.urandom(5 * 1024 * 1024 + 3))
    files[1].write_text("second\n")
    await session.start()
    try:
        ids = session.upload(files, str(remote))
        views = await settle(session)
        link = session.core.supervisor.current_link
        assert isinstance(link, ConnectionLink)  # the connection alone: no channel, no PTY
    finally:
        await session.close()
    await tab.close()

    assert [view.id for view in views] == ids
    assert [view.state for view in views] == [TransferState.DONE, TransferState.DONE]
    assert all(view.check is Check.SHA256 for view in views)
    assert [digest(remote / path.name) for path in files] == [digest(path) for path in files]
    assert sftp_sshd.tmux_server_pid() is None  # the transfers never started the tab's tmux
    assert decide.asked == []


async def test_each_call_settles_an_existing_destination_or_asks(
    sftp_sshd: SshServer, dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    decide = Decider(Existing.OVERWRITE)
    session = TransferSession(profile_for(sftp_sshd), TerminalPrompter(), decide=decide)
    (local / "notes.txt").write_text("new\n")
    (remote / "notes.txt").write_text("old\n")
    (remote / "log.txt").write_text("remote log\n")
    (local / "log.txt").write_text("local log\n")
    await session.start()
    try:
        kept = session.upload([local / "notes.txt"], str(remote), Existing.KEEP_BOTH)
        skipped = session.download([str(remote / "log.txt")], local, Existing.SKIP)
        await settle(session)
        assert decide.asked == []  # both calls said what to do
        asked = session.upload([local / "notes.txt"], str(remote))  # None: the dialog
        views = await settle(session)
    finally:
        await session.close()

    by_id = {view.id: view for view in views}
    assert by_id[kept[0]].destination == str(remote / "notes (1).txt")
    assert (remote / "notes (1).txt").read_text() == "new\n"
    assert by_id[skipped[0]].state is TransferState.DONE
    assert by_id[skipped[0]].reason.startswith("skipped:")
    assert (local / "log.txt").read_text() == "local log\n"
    assert [(q.direction, q.path) for q in decide.asked] == [
        (Direction.UPLOAD, str(remote / "notes.txt"))
    ]
    assert by_id[asked[0]].state is TransferState.DONE
    assert (remote / "notes.txt").read_text() == "new\n"


async def test_cancel_retry_and_the_listener_as_a_transfers_view_uses_them(
    sftp_sshd: SshServer, dirs: tuple[Path, Path]
) -> None:
    local, remote = dirs
    session = TransferSession(
        profile_for(sftp_sshd), TerminalPrompter(), decide=Decider(Existing.REFUSE)
    )
    seen: list[tuple[int, TransferState]] = []

    def show(view: TransferView) -> None:
        seen.append((view.id, view.state))

    session.add_listener(show)
    for name in ("one", "two", "three"):
        (local / name).write_bytes(os.urandom(64 * 1024))
    # Queued before the connection exists: they wait for it, and the last can be cancelled
    # while still queued (nothing was written for it).
    first, second, third = session.upload(
        [local / "one", local / "two", local / "three"], str(remote)
    )
    session.cancel(third)
    assert session.view(third).state is TransferState.CANCELLED
    await session.start()
    try:
        await settle(session)
        assert not (remote / "three").exists()
        session.retry(third)
        await settle(session)
        session.remove_listener(show)
        heard = len(seen)
        (local / "four").write_text("unheard\n")
        (fourth,) = session.upload([local / "four"], str(remote))
        await settle(session)
    finally:
        await session.close()

    assert [view.state for view in session.transfers()] == [TransferState.DONE] * 4
    assert (third, TransferState.CANCELLED) in seen
    assert seen.index((third, TransferState.CANCELLED)) < seen.index((third, TransferState.DONE))
    for ident in (first, second):
        states = [state for seen_id, state in seen if seen_id == ident]
        assert states[0] is TransferState.QUEUED
        assert states[-1] is TransferState.DONE
    assert len(seen) == heard  # nothing after remove_listener
    assert all(ident != fourth for ident, _ in seen)
    assert digest(remote / "three") == digest(local / "three")


async def test_a_transfer_session_never_started_closes_without_connecting(
    sftp_sshd: SshServer,
) -> None:
    session = TransferSession(
        profile_for(sftp_sshd), TerminalPrompter(), decide=Decider(Existing.REFUSE)
    )
    await session.close()
    assert session.status().state is Phase.IDLE
    assert sftp_sshd.connection_count() == 0
