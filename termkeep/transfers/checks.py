"""The end-to-end check of a finished file: the SHA-256 the server computes with its own
``sha256sum`` (a side command on the link, quoted for any login shell), or the size alone
when the server cannot say.

An upload's check need not wait for the last byte: ``FollowingDigest`` feeds one
``sha256sum`` on the server the partial file's bytes in order, a segment at a time as soon as
every byte of it is acknowledged, so only the last segment is hashed after the transfer. Any
trouble with it (no ``sha256sum``, an odd shell, the helper gone) only means the whole file
is hashed afterwards with ``remote_sha256``, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

from termkeep.tmux.shell import remote_command, shell_words
from termkeep.transport.link import HelperShell, SideChannelError, SideChannels

_log = logging.getLogger(__name__)

NO_COMMAND = 127
"""The shell's status for a command it cannot find."""
SECONDS_PER_GIB = 30.0
"""Time a slow server may take to hash a GiB (a Raspberry Pi hashes ~100 MB/s)."""
BASE_TIMEOUT = 30.0
HASH_SEGMENT = 16 * 1024 * 1024
"""Acknowledged bytes a ``FollowingDigest`` lets gather before asking the server to hash
them: few commands for a big file, little left to hash after the last byte."""
OPEN_TIMEOUT = 10.0

_DIGEST = re.compile(rb"^\\?([0-9a-f]{64})[ \t]")


@dataclass(frozen=True, slots=True)
class RemoteDigest:
    """The server's SHA-256 of a file, or why there is none (``digest`` None)."""

    digest: str | None
    why_not: str = ""


def sha256_command(path: str) -> str | None:
    """``sha256sum -- PATH`` for any login shell, or None when the path holds characters
    (backslash, ``!``, a line break) that some shells read even inside single quotes."""
    try:
        return remote_command(shell_words("sha256sum", "--", path))
    except ValueError:
        return None


async def remote_sha256(side: SideChannels, path: str, size: int) -> RemoteDigest:
    """Ask the server for ``path``'s SHA-256; raises ``SideChannelError`` if the link goes."""
    command = sha256_command(path)
    if command is None:
        return RemoteDigest(None, "its path cannot go on a remote command line")
    result = await side.run(command, timeout=hash_timeout(size))
    if result.exit_status == NO_COMMAND:
        return RemoteDigest(None, "the server has no sha256sum")
    match = _DIGEST.match(result.stdout)
    if result.exit_status != 0 or match is None:
        return RemoteDigest(None, "sha256sum on the server failed")
    return RemoteDigest(match.group(1).decode())


def hash_timeout(size: int) -> float:
    """How long the server may take to hash ``size`` bytes."""
    return BASE_TIMEOUT + SECONDS_PER_GIB * size / (1 << 30)


def following_sha256_command(path: str) -> str | None:
    """A command that reads lines ``OFFSET LENGTH`` and feeds those bytes of ``path`` to one
    ``sha256sum``, until a line ``end``; None when the path cannot go on a command line."""
    script = (
        f"f={shell_words(path)}; "
        'while read -r off len; do [ "$off" = end ] && break; '
        'tail -c "+$((off + 1))" -- "$f" | head -c "$len"; '
        "done | sha256sum"
    )
    try:
        return remote_command(script)
    except ValueError:
        return None


class FollowingDigest:
    """The server's SHA-256 of a file still being written, hashed in order while it is
    (module notes). ``extend(final)`` when every byte below ``final`` is on the server;
    ``finish(size)`` gives the digest, or None when the whole file must be hashed anew."""

    def __init__(self, shell: HelperShell) -> None:
        self._shell = shell
        self._asked = 0
        self._broken = False

    @classmethod
    async def open(cls, side: SideChannels, path: str) -> FollowingDigest | None:
        """Start the server's side; None if it cannot be (the check then runs after)."""
        command = following_sha256_command(path)
        if command is None:
            return None
        try:
            shell = await asyncio.wait_for(side.open_helper(command), OPEN_TIMEOUT)
        except (SideChannelError, TimeoutError) as error:
            _log.debug("no following digest for %s: %s", path, error)
            return None
        return cls(shell)

    def extend(self, final: int) -> None:
        """Every byte below ``final`` is on the server: hash them once a segment waits."""
        if final - self._asked >= HASH_SEGMENT:
            self._ask(final)

    async def finish(self, size: int) -> str | None:
        """The SHA-256 of the first ``size`` bytes (the whole file, all acknowledged)."""
        if size > self._asked:
            self._ask(size)
        self._write(b"end\n")
        if self._broken:
            return None
        try:
            line = await asyncio.wait_for(self._shell.read_until(b"\n"), hash_timeout(size))
        except (SideChannelError, TimeoutError) as error:
            _log.debug("the following digest gave no answer: %s", error)
            return None
        match = _DIGEST.match(line)
        return match.group(1).decode() if match is not None else None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._shell.close()

    def _ask(self, upto: int) -> None:
        self._write(f"{self._asked} {upto - self._asked}\n".encode())
        self._asked = upto

    def _write(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            self._shell.write(data)
        except SideChannelError:
            self._broken = True
