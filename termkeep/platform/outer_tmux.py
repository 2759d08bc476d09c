"""The tmux termkeep itself runs in (``$TMUX``), asked about over its own socket.

A notification escape reaches the desktop from inside tmux only through tmux's passthrough,
which tmux forwards only while its ``allow-passthrough`` option is on (off by default). The
question goes to the outer tmux's own socket, the first field of ``$TMUX``
(``socket,pid,session``), about the pane termkeep runs in (``$TMUX_PANE``); it is bounded
by a timeout, since a tmux that hangs must not hold anything up.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Mapping

QUERY_TIMEOUT = 2.0
"""Seconds the outer tmux may take to answer."""

_OFF = frozenset({"", "0", "off"})


def outer_tmux_socket(environ: Mapping[str, str]) -> str | None:
    """The socket of the tmux termkeep runs in, or None outside tmux."""
    socket = environ.get("TMUX", "").split(",", 1)[0]
    return socket or None


async def passthrough_allowed(environ: Mapping[str, str]) -> bool | None:
    """Whether the outer tmux forwards passthrough sequences (``allow-passthrough`` on, or
    ``all``) for termkeep's pane; None when it cannot tell (no tmux, no answer in time)."""
    socket = outer_tmux_socket(environ)
    tmux = shutil.which("tmux")
    if socket is None or tmux is None:
        return None
    target = ["-t", pane] if (pane := environ.get("TMUX_PANE")) else []
    command = [tmux, "-S", socket, "display-message", "-p", *target, "#{allow-passthrough}"]
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        async with asyncio.timeout(QUERY_TIMEOUT):
            output, _ = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        return None
    if process.returncode != 0:
        return None
    return output.decode(errors="replace").strip() not in _OFF
