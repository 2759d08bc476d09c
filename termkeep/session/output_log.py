"""A session's log as it runs: the remote's output and the supervisor's own lines.

One per tab (and one per ``termkeep attach``). It follows the supervisor, so a drop and a
reattach are written with their cause and duration as the tab says them, and it is fed only
what the remote sent, never keystrokes (a password typed at a no-echo prompt never reaches
it). A log that cannot be written (a full disk, or a file refused by
``platform.files.open_private_append``: a symlink, a FIFO, someone else's file) stops and says so;
the session goes on.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from termkeep.config.profile import Profile
from termkeep.config.settings import DEFAULT_LOG_PATTERN, LogMode
from termkeep.records.session_log import SessionLog, log_file_path
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Notice, Update


class OutputLog:
    """Starts, feeds and stops one session's log file."""

    def __init__(
        self,
        profile: Profile,
        supervisor: Supervisor,
        *,
        mode: LogMode = LogMode.OFF,
        pattern: str = DEFAULT_LOG_PATTERN,
    ) -> None:
        self._profile = profile
        self._supervisor = supervisor
        self._mode = LogMode.OUTPUT if mode is LogMode.OFF else mode
        """The mode a log starts in (toggling on a tab whose log is off gives output)."""
        self._pattern = pattern
        self._log: SessionLog | None = None
        self.at_start = mode is not LogMode.OFF
        """Whether the settings ask for the log from the start."""
        supervisor.add_listener(self._note)

    @property
    def path(self) -> Path | None:
        """The file being written, if any."""
        return self._log.path if self._log is not None else None

    def start_if_asked(self) -> None:
        """Start the log if the settings say so; a file that cannot be made is a notice."""
        if not self.at_start:
            return
        try:
            self.start()
        except OSError as error:  # the session still opens, without its log
            self._supervisor.announce(f"no session log: {_reason(error)}")

    def start(self) -> Path:
        """Start the log (PuTTY-style pattern, 0600); OSError if the file cannot be made."""
        if self._log is not None:
            return self._log.path
        path = log_file_path(
            self._pattern,
            profile=self._profile.name,
            host=self._profile.host,
            now=datetime.now().astimezone(),
        )
        self._log = SessionLog(path, self._mode)
        self._write(f"log of {self._profile.name} ({self._profile.host}) started")
        return path

    def stop(self) -> None:
        if self._log is not None:
            self._write("log stopped")
        if self._log is not None:  # (writing that line may itself have failed and stopped it)
            self._log.close()
            self._log = None

    def output(self, data: bytes) -> None:
        """Bytes the remote sent."""
        if self._log is not None:
            self._write(data)

    def _note(self, update: Update) -> None:
        # Drops, reattaches (with their cause and duration) and endings, as the tab says them.
        if self._log is not None and isinstance(update, Notice):
            self._write(update.text)

    def _write(self, output: bytes | str) -> None:
        log = self._log
        if log is None:
            return
        try:
            if isinstance(output, bytes):
                log.write(output)
            else:
                log.note(output)
        except OSError as error:
            self._log = None
            with contextlib.suppress(OSError):
                log.close()
            self._supervisor.announce(f"session log stopped: {_reason(error)}")


def _reason(error: OSError) -> str:
    """What went wrong, with the file when the error names one (a refused log file)."""
    reason = error.strerror or str(error)
    return f"{error.filename}: {reason}" if error.filename else reason
