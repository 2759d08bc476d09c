"""Where a tmux pane's shell is: its current directory and its foreground program, asked of
tmux over a side channel of the tab's connection (one small command, no new connection).

Files go to (and come from) the directory the user sees in the pane. When the pane's
foreground program is not a shell (a nested ``ssh``, ``sudo -s``, an editor), that directory
may be another machine's or another user's: the caller says what runs there and asks.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from termkeep.tmux.shell import remote_command, shell_words
from termkeep.transport.link import SideChannelError, SideChannels

PANE_TIMEOUT = 10.0
# Two lines: tmux prints a control character of a field as "_", so no separator inside one
# line can be told from the path's own characters. The first line is the alternate-screen
# flag (one digit) and the program; the path is all of the second (a line break in a path
# comes back as "_": such a directory is then not found, and the upload says so).
_FIRST = "#{alternate_on}#{pane_current_command}"
_PATH = "#{pane_current_path}"

SHELLS = frozenset(
    {
        "sh", "bash", "zsh", "fish", "dash", "ash", "ksh", "mksh", "oksh", "loksh", "pdksh",
        "csh", "tcsh", "yash", "posh", "nu", "xonsh", "elvish", "ion", "rbash", "busybox",
    }
)  # fmt: skip
"""Programs whose current directory is the one the user works in at their prompt."""


class PaneError(Exception):
    """tmux could not say where the pane is; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class PanePlace:
    """A pane's current directory, its foreground program and whether that program is on
    the alternate screen (full-screen)."""

    path: str
    command: str
    alternate: bool

    @property
    def at_shell(self) -> bool:
        """Whether the foreground program is a shell (a prompt, or a command it runs in the
        same directory)."""
        return is_shell(self.command)


def is_shell(command: str) -> bool:
    """Whether ``command`` (tmux's ``pane_current_command``) names a shell; a login shell's
    leading ``-`` and a path are ignored."""
    name = posixpath.basename(command.strip().lstrip("-"))
    return name in SHELLS


def place_command(session: str) -> str:
    """The command that prints the current pane of ``session`` (exact name) as one line."""
    target = f"={session}:"
    return remote_command(
        shell_words("tmux", "display-message", "-p", "-t", target, _FIRST)
        + " && "
        + shell_words("tmux", "display-message", "-p", "-t", target, _PATH)
    )


def parse_place(output: bytes, stderr: bytes, exit_status: int | None) -> PanePlace:
    """The ``PanePlace`` from ``place_command``'s output; PaneError with tmux's words."""
    text = output.decode("utf-8", "surrogateescape").removesuffix("\n")
    first, _, path = text.partition("\n")
    if exit_status != 0 or first[:1] not in {"0", "1"} or not path.startswith("/"):
        said = stderr.decode("utf-8", "replace").strip()[:200]
        raise PaneError(f"tmux did not say where the pane is: {said or f'exit {exit_status}'}")
    return PanePlace(path=path, command=first[1:], alternate=first[0] == "1")


async def pane_place(link: SideChannels, session: str) -> PanePlace:
    """Where ``session``'s current pane is, asked over ``link``'s connection."""
    try:
        result = await link.run(place_command(session), timeout=PANE_TIMEOUT)
    except SideChannelError as error:
        raise PaneError(f"could not ask tmux where the pane is: {error}") from error
    return parse_place(result.stdout, result.stderr, result.exit_status)
