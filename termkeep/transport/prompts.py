"""Asking the user things while connecting: passwords, passphrases, host keys.

The transport never talks to a terminal or a widget itself. It awaits a ``Prompter``: the app
implements one with dialogs, the headless ``termkeep attach`` uses ``TerminalPrompter``, and
``NoPrompter`` is for when nobody can answer (then every question is refused, so an unknown
host key is never trusted silently).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, override

from termkeep.platform.tty import (
    CONTROLLING_TTY,
    STDERR_FD,
    prompt_terminal,
    read_answer,
    write_fully,
)
from termkeep.terminal.ssh_text import ssh_visible


class HostKeyDecision(StrEnum):
    """The user's answer to an unknown host key."""

    REJECT = "reject"
    ACCEPT_ONCE = "accept once"
    """Trust the key for as long as this termkeep runs, without saving it."""
    ACCEPT_AND_SAVE = "accept and save"
    """Trust the key and append it to known_hosts."""


type KbdIntPrompts = Sequence[tuple[str, bool]]
"""Keyboard-interactive prompts: ``(text, echo)`` pairs; ``echo`` False means secret."""


class Prompter(Protocol):
    """What the transport may ask the user. Every method may take as long as the user needs:
    the connect timeout is paused while a prompt is open."""

    async def password(self, prompt: str) -> str | None:
        """A login password, or None to stop trying passwords."""
        ...

    async def passphrase(self, key_path: str) -> str | None:
        """The passphrase of an encrypted private key file, or None to skip that key."""
        ...

    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        """One answer per prompt, or None to give up keyboard-interactive auth."""
        ...

    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        """Whether to trust a host key seen for the first time (``fingerprint`` is
        ``SHA256:…``, as OpenSSH prints it)."""
        ...

    async def changed_host_key(self, warning: str) -> None:
        """Show that a known host presented a different key. There is no way to accept:
        the connection is refused until the user fixes known_hosts."""
        ...

    async def notice(self, text: str) -> None:
        """Show a one-off message (for example: tmux is missing on the server)."""
        ...


class NoPrompter(Prompter):
    """Refuses every question: no password, no passphrase, no unknown host key.

    Notices and warnings are kept in ``messages`` so the caller can still report them.
    """

    def __init__(self) -> None:
        self.messages: list[str] = []

    @override
    async def password(self, prompt: str) -> str | None:
        """No one to ask: no password."""
        return None

    @override
    async def passphrase(self, key_path: str) -> str | None:
        """No one to ask: the encrypted key is skipped."""
        return None

    @override
    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        """No one to ask: keyboard-interactive auth gives up."""
        return None

    @override
    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        """No one to ask: an unknown key is never trusted."""
        return HostKeyDecision.REJECT

    @override
    async def changed_host_key(self, warning: str) -> None:
        """Keep the warning for whoever reports the failure."""
        self.messages.append(warning)

    @override
    async def notice(self, text: str) -> None:
        """Keep the notice for whoever reports the outcome."""
        self.messages.append(text)


class TerminalPrompter(Prompter):
    """Asks on the controlling terminal, like ssh, for ``termkeep attach`` and ``tunnel``.

    Questions are read on the event loop (``platform.tty.read_answer``), never in a thread,
    so other connections and keepalives go on while the user types, and a stop signal ends a
    pending question at once with the terminal's echo restored. Every text is shown with
    ssh's rules (``ssh_visible``): a server's keyboard-interactive name, instructions and
    prompts, and any message that quotes a server, cannot drive the user's terminal.
    """

    def __init__(self, tty_path: str = CONTROLLING_TTY, message_fd: int = STDERR_FD) -> None:
        self._tty_path = tty_path
        self._message_fd = message_fd

    @override
    async def password(self, prompt: str) -> str | None:
        """Read a password without echo; end of input means no password."""
        return await self._ask(prompt, secret=True)

    @override
    async def passphrase(self, key_path: str) -> str | None:
        """Read a key passphrase without echo."""
        return await self._ask(f"Enter passphrase for key '{key_path}': ", secret=True)

    @override
    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        """Show the server's name and instructions, then ask each prompt in turn."""
        with prompt_terminal(self._tty_path) as (read_fd, write_fd):
            for header in (name, instructions):
                if header:
                    write_fully(write_fd, _terminal_lines(header))
            answers: list[str] = []
            for text, echo in prompts:
                answer = await read_answer(read_fd, write_fd, ssh_visible(text), secret=not echo)
                if answer is None:
                    return None
                answers.append(answer)
            return answers

    @override
    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        """Ask like OpenSSH does, with a third answer to trust the key only this once."""
        where = host if port == 22 else f"[{host}]:{port}"
        question = (
            f"The authenticity of host '{where}' can't be established.\n"
            f"{key_type} key fingerprint is {fingerprint}.\n"
            "Trust it? (yes = save to known_hosts / once = this session only / no): "
        )
        answer = await self._ask(question, secret=False)
        return _HOST_KEY_ANSWERS.get((answer or "").strip().lower(), HostKeyDecision.REJECT)

    @override
    async def changed_host_key(self, warning: str) -> None:
        """Print the warning; there is nothing to answer."""
        write_fully(self._message_fd, _terminal_lines(warning))

    @override
    async def notice(self, text: str) -> None:
        """Print the notice on its own line."""
        write_fully(self._message_fd, _terminal_lines(text))

    async def _ask(self, prompt: str, *, secret: bool) -> str | None:
        with prompt_terminal(self._tty_path) as (read_fd, write_fd):
            return await read_answer(read_fd, write_fd, ssh_visible(prompt), secret=secret)


def _terminal_lines(text: str) -> bytes:
    """``text`` made visible with ssh's rules, each line ending in CR LF: the terminal may be
    in raw mode during ``attach``."""
    return (ssh_visible(text).replace("\n", "\r\n") + "\r\n").encode()


_HOST_KEY_ANSWERS = {
    "yes": HostKeyDecision.ACCEPT_AND_SAVE,
    "y": HostKeyDecision.ACCEPT_AND_SAVE,
    "once": HostKeyDecision.ACCEPT_ONCE,
    "no": HostKeyDecision.REJECT,
    "n": HostKeyDecision.REJECT,
}
