"""The local file picker of prefix u, on this computer's real files: fuzzy over the folder
typed so far, ~ as home, enter into folders, a typed path, marks across folders, a folder
that cannot be read."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from termkeep.ui.screens.file_lists import MARK, LocalFilePicker
from tests.ui.pilot import wait_for


class PickerApp(App[None]):
    """Shows one picker and keeps what it returned."""

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start
        self.result: list[list[Path] | None] = []

    def compose(self) -> ComposeResult:
        yield Static("under the picker")

    def on_mount(self) -> None:
        self.push_screen(LocalFilePicker("Upload to box:/srv", self.start), self.result.append)


def tree(root: Path) -> Path:
    (root / "photos").mkdir()
    (root / "photos" / "cat.jpg").write_bytes(b"cat")
    (root / "photos" / "dog.jpg").write_bytes(b"dog")
    (root / "report-2026.pdf").write_bytes(b"pdf")
    (root / "readme.txt").write_text("hi")
    return root


def picker_of(app: PickerApp) -> LocalFilePicker:
    assert isinstance(app.screen, LocalFilePicker)
    return app.screen


async def test_fuzzy_folders_first_and_enter_goes_in_then_picks(tmp_path: Path) -> None:
    app = PickerApp(tree(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        picker = picker_of(app)
        assert picker.shown == ["photos/", "readme.txt", "report-2026.pdf"]
        await pilot.press(*"rp26")
        assert picker.shown == ["report-2026.pdf"]
        picker.query_one("#path", Input).value = "pho"
        await pilot.pause()
        await pilot.press("enter")  # a folder: in
        assert picker.query_one("#path", Input).value == f"{tmp_path / 'photos'}/"
        assert picker.shown == ["cat.jpg", "dog.jpg"]
        await pilot.press(*"dg", "enter")
        await wait_for(pilot, lambda: app.result, "the choice")
        assert app.result == [[tmp_path / "photos" / "dog.jpg"]]


async def test_tab_marks_files_across_folders_and_enter_takes_them(tmp_path: Path) -> None:
    app = PickerApp(tree(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        picker = picker_of(app)
        await pilot.press(*"readme", "tab")
        assert picker.marked == [tmp_path / "readme.txt"]
        assert "1 marked" in str(picker.query_one("#problem", Static).render())
        picker.query_one("#path", Input).value = ""
        await pilot.pause()
        await pilot.press("tab")  # on photos/: goes in
        assert picker.shown == ["cat.jpg", "dog.jpg"]
        await pilot.press("tab")  # cat.jpg marked, the highlight moves to dog.jpg
        options = picker.query_one("#choices")
        assert str(options.get_option_at_index(0).prompt).startswith(MARK)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.result, "the choice")
        assert app.result == [[tmp_path / "readme.txt", tmp_path / "photos" / "cat.jpg"]]


async def test_a_typed_path_and_home(tmp_path: Path) -> None:
    (Path.home() / "from-home.txt").write_text("home")
    app = PickerApp(tree(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        picker = picker_of(app)
        picker.query_one("#path", Input).value = "~/fr"
        await wait_for(pilot, lambda: picker.shown == ["from-home.txt"], "home's file")
        assert str(picker.query_one("#where", Static).render()) == str(Path.home())
        picker.query_one("#path", Input).value = str(tmp_path / "readme.txt")
        await pilot.press("enter")  # a whole path to a file: taken as typed
        await wait_for(pilot, lambda: app.result, "the choice")
        assert app.result == [[tmp_path / "readme.txt"]]


async def test_a_folder_that_cannot_be_read_is_said_and_escape_picks_nothing(
    tmp_path: Path,
) -> None:
    app = PickerApp(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        picker = picker_of(app)
        picker.query_one("#path", Input).value = str(tmp_path / "absent") + "/"
        await wait_for(
            pilot,
            lambda: "No such file or directory" in str(picker.query_one("#problem").render()),
            "the problem",
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.result, "closed")
        assert app.result == [None]
