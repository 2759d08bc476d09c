"""The end-to-end check of a finished file: the SHA-256 the server computes with its own
``sha256sum`` (a side command on the link, quoted for any login shell), or the size alone
when the server cannot say."""

from __future__ import annotations

import re
from dataclasses import dataclass

from termkeep.tmux.shell import remote_command, shell_words
from termkeep.transport.link import SideChannels

NO_COMMAND = 127
"""The shell's status for a command it cannot find."""
SECONDS_PER_GIB = 30.0
"""Time a slow server may take to hash a GiB (a Raspberry Pi hashes ~100 MB/s)."""
BASE_TIMEOUT = 30.0

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
    timeout = BASE_TIMEOUT + SECONDS_PER_GIB * size / (1 << 30)
    result = await side.run(command, timeout=timeout)
    if result.exit_status == NO_COMMAND:
        return RemoteDigest(None, "the server has no sha256sum")
    match = _DIGEST.match(result.stdout)
    if result.exit_status != 0 or match is None:
        return RemoteDigest(None, "sha256sum on the server failed")
    return RemoteDigest(match.group(1).decode())
