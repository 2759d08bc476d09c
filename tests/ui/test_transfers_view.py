"""The transfers view (prefix T) on a scripted tab: rows for every state with the reason of
a failure, cancel and retry on the highlighted row, a tab that carries no files, and its
picture. The live flows (real sshd, real tmux) are in test_transfers_live.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from termkeep.config.store import ProfileStore
from termkeep.transfers.model import Direction, TransferState, TransferView
from termkeep.transport.remote_files import RemoteEntry
from termkeep.ui.screens.transfers import TransfersScreen
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import PREFIX, wait_for

type SnapCompare = Callable[..., bool]


class ScriptedTransfers:
    """Implements TabTransfers with views the test sets; records cancel and retry."""

    host = "db-main"

    def __init__(self, views: Sequence[TransferView]) -> None:
        self.views = list(views)
        self.listeners: list[Callable[[TransferView], None]] = []
        self.cancelled: list[int] = []
        self.retried: list[int] = []

    def upload(self, local_paths: Sequence[Path], remote_dir: str | None) -> list[int]:
        raise AssertionError(f"the view queues nothing ({local_paths}, {remote_dir})")

    def download(self, remote_paths: Sequence[str], local_dir: Path) -> list[int]:
        raise AssertionError(f"the view queues nothing ({remote_paths}, {local_dir})")

    def transfers(self) -> list[TransferView]:
        return list(self.views)

    def set(self, view: TransferView) -> None:
        """Replace the view with ``view.id`` and tell the listeners, as the service does."""
        self.views = [view if old.id == view.id else old for old in self.views]
        for listener in self.listeners:
            listener(view)

    def cancel(self, ident: int) -> None:
        self.cancelled.append(ident)
        self.set(replace(self._view(ident), state=TransferState.CANCELLED))

    def retry(self, ident: int) -> None:
        self.retried.append(ident)
        self.set(replace(self._view(ident), state=TransferState.QUEUED, reason=""))

    def _view(self, ident: int) -> TransferView:
        return next(view for view in self.views if view.id == ident)

    def add_listener(self, listener: Callable[[TransferView], None]) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Callable[[TransferView], None]) -> None:
        self.listeners.remove(listener)

    async def home(self) -> str:
        return "/home/alice"

    async def realpath(self, path: str) -> str:
        return path

    async def listdir(self, path: str) -> list[RemoteEntry]:
        raise AssertionError(f"the view lists nothing ({path})")


VIEWS = (
    TransferView(
        1, Direction.UPLOAD, "/home/me/report.pdf", "/srv/www/report.pdf", TransferState.DONE,
        size=2_400_000, done=2_400_000,
    ),
    TransferView(
        2, Direction.DOWNLOAD, "/var/log/syslog", "/home/me/Downloads", TransferState.FAILED,
        size=8_000_000, done=3_000_000,
        reason="no space left on this computer: /home/me/Downloads/syslog",
    ),
    TransferView(
        3, Direction.UPLOAD, "/home/me/backup.tar.gz", "/srv/www", TransferState.RUNNING,
        size=500_000_000, done=210_000_000, rate=12_300_000.0, eta=23.6,
    ),
    TransferView(4, Direction.UPLOAD, "/home/me/notes.txt", "/srv/www", TransferState.QUEUED),
)  # fmt: skip


async def open_view(app: RecordingApp, transfers: ScriptedTransfers) -> TransfersScreen:
    pane = await app.open_profile("db-main")
    assert pane is not None
    app.sessions["db-main"].transfers = transfers
    await app.run_keymap_action("transfers.show")
    screen = app.screen
    assert isinstance(screen, TransfersScreen)
    return screen


async def test_rows_say_each_state_and_cancel_and_retry_act_on_the_highlighted_one(
    store: ProfileStore,
) -> None:
    transfers = ScriptedTransfers(VIEWS)
    app = RecordingApp(store)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        view = await open_view(app, transfers)
        await pilot.pause()
        rows = view.rows
        assert rows[0] == "↑ report.pdf [done] 2.4 MB of 2.4 MB → /srv/www/report.pdf"
        assert rows[1] == (
            "↓ syslog [failed] 3.0 MB of 8.0 MB — no space left on this computer: "
            "/home/me/Downloads/syslog → /home/me/Downloads"
        )
        assert rows[2] == (
            "↑ backup.tar.gz [running] 210.0 MB of 500.0 MB 42% 12.3 MB/s 24 s left → /srv/www"
        )
        assert rows[3].startswith("↑ notes.txt [queued]")

        await pilot.press("up")  # from the newest (notes.txt) to backup.tar.gz
        await pilot.press("r")  # running: nothing to retry
        assert transfers.retried == []
        await pilot.press("c")
        assert transfers.cancelled == [3]
        await wait_for(pilot, lambda: "[cancelled]" in view.rows[2], "the cancelled row")
        await pilot.press("up", "r")  # syslog, failed: retried
        assert transfers.retried == [2]
        await wait_for(pilot, lambda: "[queued]" in view.rows[1], "queued again")
        assert "no space" not in view.rows[1]

        # Progress from the service shows once the view refreshes (once a second).
        transfers.views[3] = replace(VIEWS[3], state=TransferState.RUNNING, size=10, done=5)
        view.refresh_rows()
        assert "[running]" in view.rows[3]
        await pilot.press("escape")
        assert not isinstance(app.screen, TransfersScreen)
        assert transfers.listeners == []  # the closed view no longer listens


async def test_a_tab_without_transfers_says_so(store: ProfileStore) -> None:
    app = RecordingApp(store)
    async with app.run_test(size=(100, 20)) as pilot:
        await app.open_profile("db-main")
        await pilot.press(PREFIX, "T")
        assert not isinstance(app.screen, TransfersScreen)
        assert app.messages[-1] == "This tab carries no transfers"
        await pilot.press(PREFIX, "u")
        await wait_for(pilot, lambda: app.messages[-1] == "db-main cannot carry files", "said")


def test_transfers_view_snapshot(snap_compare: SnapCompare, store: ProfileStore) -> None:
    app = RecordingApp(store)

    async def run_before(pilot: object) -> None:
        await open_view(app, ScriptedTransfers(VIEWS))

    assert snap_compare(app, terminal_size=(120, 24), run_before=run_before)
