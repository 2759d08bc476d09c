"""Where an unexpected error stops: at its tab, written to the log file, never a traceback.

One tab's bug (a session callback, a message handler, a render, a worker) must not take the
other tabs and their connections down. ``TabBoundary`` catches what a tab's widgets raise and
hands it to the tab (``SessionPane.fail``), which shows an error state; the traceback goes to
``log_file()`` in the state directory. An error outside every tab still ends the app, but the
terminal is restored first (Textual does that), the remote tmux sessions stay, and the user
reads one line naming the log file.

Nothing here logs what was typed or a secret: only exceptions and their tracebacks.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from textual.message import Message
from textual.message_pump import MessagePump

from termkeep import paths
from termkeep.platform.files import open_private_append_fd
from termkeep.terminal.display_text import safe_text

LOG_NAME = "termkeep.log"
LOG_LIMIT_BYTES = 1024 * 1024
"""The log is started afresh at the next start once it is this big."""
SHORT_LIMIT = 160
"""Characters of an error shown on a tab."""

_log = logging.getLogger("termkeep.ui")


_started: list[Path] = []
"""The file ``start_logging`` opened, if it did (the demo moves the state directory to a
temporary one afterwards; its crash line must still name the file that was written)."""


def log_file() -> Path:
    """The app's log file: the one logging was started on, else the state directory's."""
    return _started[-1] if _started else paths.state_dir() / LOG_NAME


class _PrivateLogFile(logging.FileHandler):
    """A log file made only when the first record comes (a clean run leaves nothing behind,
    and ``termkeep demo`` touches no state), 0600 in a 0700 directory."""

    def _open(self) -> io.TextIOWrapper:
        path = Path(self.baseFilename)
        if path.is_file() and path.stat().st_size > LOG_LIMIT_BYTES:
            path.replace(path.with_suffix(".log.1"))
        # The checks of session logs: a 0700 directory, a 0600 regular file of this user,
        # never written through a symlink.
        descriptor = open_private_append_fd(path)
        return os.fdopen(descriptor, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        # FileHandler opens the file in emit, outside its own error handling: a refused file
        # (a planted symlink) must lose the record, not raise into the code that logged it.
        try:
            super().emit(record)
        except OSError:
            self.handleError(record)


def start_logging(path: Path | None = None) -> Path:
    """Send warnings and errors of every logger to the log file (made at the first record),
    and keep logging itself quiet at interpreter shutdown (no "Logging error" storms)."""
    path = path or log_file()
    handler = _PrivateLogFile(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    logging.getLogger().addHandler(handler)
    # A handler that fails (a closed file while the interpreter shuts down) must not print
    # tracebacks over the user's restored terminal.
    logging.raiseExceptions = False
    _started.append(path)
    return path


def stop_logging(path: Path) -> None:
    """Undo ``start_logging(path)`` (tests start it more than once in one process)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == path:
            root.removeHandler(handler)
            handler.close()
    if path in _started:
        _started.remove(path)


def record(error: BaseException, where: str) -> None:
    """Write ``error`` with its traceback to the log."""
    _log.error("unexpected error in %s", where, exc_info=error)


def stopped_line() -> str:
    """What the user reads when the app had to stop on an unexpected error."""
    return (
        f"termkeep stopped on an unexpected error; the details are in {log_file()}. "
        "The tmux sessions on your servers are still running: start termkeep again to "
        "reattach its tabs."
    )


def short_description(error: BaseException) -> str:
    """One line for the user: the error's type and message, sanitised and cut."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return safe_text(text, limit=SHORT_LIMIT)


@runtime_checkable
class FailingTab(Protocol):
    """What a tab does with an error of one of its widgets."""

    def fail(self, error: Exception, where: str) -> None: ...


class TabBoundary(MessagePump):
    """A widget of a tab: an exception from one of its message handlers goes to the tab
    (``failing_tab()``) instead of ending the app."""

    def failing_tab(self) -> FailingTab | None:
        """The tab that answers for this widget: the nearest one up the DOM, itself
        included (None: let the app handle it)."""
        node: MessagePump | None = self
        while node is not None:
            if isinstance(node, FailingTab):
                return node
            node = node._parent
        return None

    async def _dispatch_message(self, message: Message) -> None:
        # Textual's own hook for every message a widget handles; an exception escaping it
        # would end the whole app.
        try:
            await super()._dispatch_message(message)
        except Exception as error:
            tab = self.failing_tab()
            if tab is None:
                raise
            tab.fail(error, f"{type(self).__name__} handling {type(message).__name__}")
