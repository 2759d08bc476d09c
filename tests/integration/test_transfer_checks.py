"""The server's SHA-256 of an upload, hashed while the file is written (checks.py's
FollowingDigest), against the real sshd and the server's own sha256sum: the digest of
segments asked for as they became final equals the whole file's, and a helper whose
connection is gone gives no digest (the check then hashes the whole file) rather than an
error."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from termkeep.session.transfers import TransferSession
from termkeep.transfers.checks import (
    HASH_SEGMENT,
    FollowingDigest,
    following_sha256_command,
    remote_sha256,
)
from termkeep.transfers.model import Existing, ExistingFile
from termkeep.transport.link import Link
from termkeep.transport.prompts import TerminalPrompter
from tests.fixtures.profiles import profile_for
from tests.fixtures.sshd import SshServer
from tests.fixtures.waiting import bounded, wait_until_async

WAIT = 30.0


async def refuse(_existing: ExistingFile) -> Existing:
    return Existing.REFUSE


@pytest.fixture
async def link(sshd: SshServer) -> AsyncIterator[Link]:
    """A bare connection to ``sshd``, as a transfer session holds one."""
    session = TransferSession(profile_for(sshd), TerminalPrompter(), decide=refuse)
    await session.start()
    try:
        yield await wait_until_async(
            lambda: session.core.supervisor.current_link, timeout=WAIT, what="the link"
        )
    finally:
        await session.close()


async def test_a_digest_following_a_growing_file_is_the_whole_files(
    link: Link, tmp_path: Path
) -> None:
    path = tmp_path / "growing.bin"
    first = os.urandom(HASH_SEGMENT + 12345)
    rest = os.urandom(HASH_SEGMENT // 2 + 7)
    path.write_bytes(first)
    following = await FollowingDigest.open(link, str(path))
    assert following is not None
    try:
        following.extend(len(first) // 2)  # less than a segment waits: nothing asked yet
        following.extend(len(first))  # the first part is final: hashed while the rest comes
        with path.open("ab") as handle:
            handle.write(rest)
        found = await bounded(
            following.finish(len(first) + len(rest)), timeout=WAIT, what="the digest"
        )
    finally:
        following.close()
    assert found == hashlib.sha256(first + rest).hexdigest()
    whole = await remote_sha256(link, str(path), len(first) + len(rest))
    assert whole.digest == found


async def test_a_following_digest_whose_connection_is_gone_gives_none(
    link: Link, sshd: SshServer, tmp_path: Path
) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(os.urandom(1024))
    following = await FollowingDigest.open(link, str(path))
    assert following is not None
    try:
        assert sshd.kill_connections()
        await bounded(link.wait_closed(), timeout=WAIT, what="the link to close")
        assert await bounded(following.finish(1024), timeout=WAIT, what="finish") is None
    finally:
        following.close()


def test_a_path_no_shell_can_quote_gets_no_following_digest() -> None:
    assert following_sha256_command("/srv/odd\\name") is None
    assert following_sha256_command("/srv/it's fine") is not None
