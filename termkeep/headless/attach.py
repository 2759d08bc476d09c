"""`termkeep attach PROFILE`: one self-healing session in the current terminal, like ssh.

Output from the remote is passed straight through; the local terminal is raw while attached.
termkeep's own words appear as short lines (``[termkeep] connection lost: no reply for 6 s;
reconnecting``, ``[termkeep] reattached after 0.4 s``). Enter ``~`` ``.`` quits, as in ssh.

Exit codes follow ssh: 0 when the remote session ended or was detached, 255 when termkeep
gave up (authentication, host key, the user's ``~.``) or was told to stop by a signal.
"""

from __future__ import annotations

import signal
from typing import override

from termkeep import paths
from termkeep.config.profile import Profile
from termkeep.config.settings import Settings
from termkeep.config.store import ProfileStore
from termkeep.headless.escape import HELP_TEXT, EscapeCommand, EscapeScanner
from termkeep.headless.rawtty import LocalTerminal
from termkeep.session.away import RecentOutput
from termkeep.session.core import SessionCore, log_mode
from termkeep.session.stop import EXIT_GAVE_UP, EXIT_OK, HeadlessRun
from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.updates import Notice, Update
from termkeep.transport.prompts import (
    HostKeyDecision,
    KbdIntPrompts,
    Prompter,
    TerminalPrompter,
)

_FINAL_STATES = {
    Phase.ENDED: EXIT_OK,
    Phase.DETACHED: EXIT_OK,
    Phase.FAILED: EXIT_GAVE_UP,
    # A headless attach has nobody to fix credentials or host keys mid-session: it ends.
    Phase.NEEDS_USER: EXIT_GAVE_UP,
}


class _CookedPrompter(Prompter):
    """Asks on the terminal with raw mode and the keyboard reader paused for each question."""

    def __init__(self, inner: Prompter, terminal: LocalTerminal) -> None:
        self._inner = inner
        self._terminal = terminal

    @override
    async def password(self, prompt: str) -> str | None:
        async with self._terminal.cooked():
            return await self._inner.password(prompt)

    @override
    async def passphrase(self, key_path: str) -> str | None:
        async with self._terminal.cooked():
            return await self._inner.passphrase(key_path)

    @override
    async def keyboard_interactive(
        self, name: str, instructions: str, prompts: KbdIntPrompts
    ) -> list[str] | None:
        async with self._terminal.cooked():
            return await self._inner.keyboard_interactive(name, instructions, prompts)

    @override
    async def unknown_host_key(
        self, host: str, port: int, key_type: str, fingerprint: str
    ) -> HostKeyDecision:
        async with self._terminal.cooked():
            return await self._inner.unknown_host_key(host, port, key_type, fingerprint)

    @override
    async def changed_host_key(self, warning: str) -> None:
        await self._inner.changed_host_key(warning)

    @override
    async def notice(self, text: str) -> None:
        await self._inner.notice(text)


class HeadlessAttach:
    """Runs one session core between the local terminal and the remote until it ends."""

    def __init__(
        self,
        profile: Profile,
        terminal: LocalTerminal,
        store: ProfileStore,
        settings: Settings | None = None,
    ) -> None:
        self._profile = profile
        settings = settings or Settings()
        self._terminal = terminal
        self._escapes = EscapeScanner()
        prompter = _CookedPrompter(TerminalPrompter(), terminal)
        self._recent = RecentOutput(terminal.size())
        self._core = SessionCore(
            profile,
            prompter,
            screen=self._show,
            size=terminal.size(),
            store=store,
            # The remote's bytes go straight through; its forwards are not attach's job.
            forwards=False,
            # The session log, as a tab would keep it (profile's `log`, else the settings').
            log=log_mode(profile, settings.log),
            log_pattern=profile.log_path or settings.log_path,
            # Drops are recorded as in the app's tabs (termkeep history prints them).
            history_file=paths.connection_history_file(),
            # A tmux session it creates keeps the history a tab's would.
            history_limit=settings.scrollback_lines,
        )
        # "While you were away" counts from the screen seen, replayed only at a drop.
        self._core.away.watch_screen(self._recent.seen)
        self._core.on_update(self._on_update)
        self._run = HeadlessRun(terminal.message, [self._core])
        self._attached_once = False

    async def run(self) -> int:
        """Attach, pass bytes both ways until the session ends; return the exit code."""

        def on_resize() -> None:
            size = self._terminal.size()
            self._recent.resize(*size)
            self._core.resize(*size)

        # The terminal is released first: it is the user's, and it must be theirs again
        # whatever fails.
        return await self._run.run(
            release=self._terminal.close, signals={signal.SIGWINCH: on_resize}
        )

    def _show(self, data: bytes) -> None:
        self._terminal.write(data)
        self._recent.feed(data)

    def _finish(self, code: int, message: str | None = None) -> None:
        self._run.finish(code, message)

    def _on_update(self, update: Update) -> None:
        if isinstance(update, Notice):
            self._terminal.message(update.text)
            return
        self._on_status(update)

    def _on_status(self, status: Status) -> None:
        if status.state is Phase.ATTACHED and not self._attached_once:
            self._attached_once = True
            self._terminal.enter_raw()
            self._terminal.start_reading(self._on_keys, self._on_keyboard_closed)
        code = _FINAL_STATES.get(status.state)
        if code is not None:
            self._finish(code, None if code == EXIT_OK else status.describe())

    def _on_keys(self, data: bytes) -> None:
        result = self._escapes.feed(data)
        if result.to_remote:
            self._core.write(result.to_remote)
        for command in result.commands:
            self._run_escape(command)

    def _run_escape(self, command: EscapeCommand) -> None:
        match command:
            case EscapeCommand.DISCONNECT:
                self._finish(EXIT_GAVE_UP, f"connection to {self._profile.host} closed")
            case EscapeCommand.RECONNECT:
                self._terminal.message("reconnecting now")
                self._core.reconnect_now()
            case EscapeCommand.HELP:
                self._terminal.write(b"\r\n" + HELP_TEXT.encode())

    def _on_keyboard_closed(self) -> None:
        """stdin ended. A terminal that closes has gone away (its window was closed): end,
        as ssh does. A pipe that ends is just input running out: keep showing output until
        the session ends."""
        if self._terminal.is_tty or self._terminal.gone:
            self._finish(EXIT_GAVE_UP, "terminal closed")


async def attach(profile: Profile, store: ProfileStore, settings: Settings | None = None) -> int:
    """Run ``termkeep attach`` for ``profile`` in this process's terminal."""
    terminal = LocalTerminal()
    try:
        return await HeadlessAttach(profile, terminal, store, settings).run()
    finally:
        terminal.close()
