"""The transport's questions as modal screens, and the Prompter that shows them.

Passwords and passphrases are typed into masked inputs and handed straight back to the
transport; nothing here stores or logs them.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from termkeep.transport.prompts import HostKeyDecision, KbdIntPrompts
from termkeep.ui.plain_text import plain


class SecretScreen(ModalScreen[str | None]):
    """A masked input for a password or a key passphrase; escape means "no answer"."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, prompt: str) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Label(plain(self.title_text), classes="question")
            yield Static(plain(self.prompt, multiline=True), classes="detail")
            yield Input(password=True, id="secret")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Give up this question."""
        self.dismiss(None)


class KeyboardInteractiveScreen(ModalScreen[list[str] | None]):
    """The server's keyboard-interactive questions, one input each (masked unless echoed)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, name: str, instructions: str, prompts: KbdIntPrompts) -> None:
        super().__init__()
        self.server_name = name
        self.instructions = instructions
        self.prompts = list(prompts)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog prompt"):
            yield Label(plain(self.server_name or "The server asks"), classes="question")
            if self.instructions:
                yield Static(plain(self.instructions, multiline=True), classes="detail")
            for index, (text, echo) in enumerate(self.prompts):
                yield Label(plain(text))
                yield Input(password=not echo, id=f"answer-{index}")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        position = inputs.index(event.input)
        if position + 1 < len(inputs):
            inputs[position + 1].focus()
        else:
            self.dismiss([field.value for field in inputs])

    def action_cancel(self) -> None:
        """Give up keyboard-interactive auth."""
        self.dismiss(None)


class UnknownHostKeyScreen(ModalScreen[HostKeyDecision]):
    """A host key seen for the first time: show the fingerprint, let the user decide."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "reject", "reject")]

    def __init__(self, host: str, port: int, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.where = host if port == 22 else f"[{host}]:{port}"
        self.key_type = key_type
        self.fingerprint = fingerprint

    def compose(self) -> ComposeResult:
        text = (
            f"termkeep has never seen the host {self.where} before.\n"
            f"Its {self.key_type} key fingerprint is\n\n  {self.fingerprint}\n\n"
            "Compare it with the one the server's administrator gave you before trusting it."
        )
        with Vertical(classes="dialog prompt"):
            yield Label("Unknown host key", classes="question")
            yield Static(plain(text, multiline=True), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button("Accept and save", variant="primary", id="save")
                yield Button("Accept once", id="once")
                yield Button("Reject", variant="error", id="reject")

    def on_mount(self) -> None:
        self.query_one("#reject", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        decisions = {
            "save": HostKeyDecision.ACCEPT_AND_SAVE,
            "once": HostKeyDecision.ACCEPT_ONCE,
        }
        self.dismiss(decisions.get(event.button.id or "", HostKeyDecision.REJECT))

    def action_reject(self) -> None:
        """Escape never trusts a key."""
        self.dismiss(HostKeyDecision.REJECT)


class ChangedHostKeyScreen(ModalScreen[None]):
    """A known host presented another key: explain, refuse, and offer no way to accept."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "close", "close")]

    def __init__(self, warning: str) -> None:
        super().__init__()
        self.warning = warning

    def compose(self) -> ComposeResult:
        fix = (
            "termkeep will not connect to this host. If the server was really reinstalled "
            "or its key rotated, check the new fingerprint with its administrator, remove "
            "the old line with `ssh-keygen -R HOST` (or edit known_hosts) and connect again."
        )
        with Vertical(classes="dialog prompt danger"):
            yield Label("HOST KEY CHANGED: connection refused", classes="question")
            yield Static(plain(self.warning, multiline=True), classes="detail")
            yield Static(plain(fix, multiline=True), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        """Close the warning; the connection stays refused."""
        self.dismiss(None)


class AppPrompter:
    """The transport's ``Prompter``, answered with modal screens in ``app``.

    ``push_screen_wait`` only works in a worker, so each question pushes its screen with a
    callback that resolves a future the transport awaits.
    """

    def __init__(self, app: App[Any]) -> None:
        self.app = app

    async def _ask[T](self, screen: ModalScreen[T]) -> T:
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def resolve(result: T | None) -> None:
            if not answer.done():
                answer.set_result(result)  # type: ignore[arg-type]  # screens dismiss with T

        self.app.push_screen(screen, resolve)
        return await answer

    async def password(self, prompt: str) -> str | None:
        """Ask for a login password (masked)."""
        return await self._ask(SecretScreen("Password", prompt))

    async def passphrase(self, key_path: str) -> str | None:
        """Ask for a private key's passphrase (masked)."""
        return await self._ask(SecretScreen("Key passphrase", f"Passphrase for {key_path}"))

    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        """Ask the server's questions, secret ones masked."""
        return await self._ask(KeyboardInteractiveScreen(name, instructions, prompts))

    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        """Let the user accept once, accept and save, or reject."""
        return await self._ask(UnknownHostKeyScreen(host, port, key_type, fingerprint))

    async def changed_host_key(self, warning: str) -> None:
        """Show the refusal and how to fix it."""
        await self._ask(ChangedHostKeyScreen(warning))

    async def notice(self, text: str) -> None:
        """A one-off message does not need a modal: a notification is enough."""
        self.app.notify(text, timeout=10)
