"""Which pastes wait for a question before they reach the remote."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.terminal.paste import (
    MAX_DROPPED_FILES,
    PasteCheck,
    dropped_files,
    dropped_paths,
    line_count,
    paste_checks,
    runs_lines,
)

LINES = PasteCheck.SEVERAL_LINES
UPLOAD = PasteCheck.UPLOAD_FILES


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("echo hi", False),
        ("echo hi\n", True),  # one line, but the line break presses Enter
        ("ls\nrm -rf ~", True),
        ("ls\r\nwhoami", True),
        ("ls\rwhoami", True),  # the engine's check misses a lone CR; its encoder sends it
        ("tab\tseparated", False),
        ("end marker \x1b[201~ then text", True),  # the engine's own rule
    ],
)
def test_runs_lines(text: str, runs: bool) -> None:
    assert runs_lines(text) is runs


def test_several_lines_ask_only_without_bracketed_paste_and_when_the_user_wants_it() -> None:
    text = "cd /tmp\nrm -rf *\n"
    assert paste_checks(text, bracketed=False, confirm_lines=True) == (LINES,)
    assert paste_checks(text, bracketed=True, confirm_lines=True) == ()
    assert paste_checks(text, bracketed=False, confirm_lines=False) == ()
    assert paste_checks("one line", bracketed=False, confirm_lines=True) == ()


@pytest.mark.parametrize(
    ("text", "count"),
    [("a", 1), ("a\n", 1), ("a\nb", 2), ("a\r\nb\r\n", 2), ("a\rb\rc", 3), ("\n\n", 2)],
)
def test_line_count(text: str, count: int) -> None:
    assert line_count(text) == count


@pytest.mark.parametrize(
    ("text", "paths"),
    [
        ("/tmp/a.txt", ("/tmp/a.txt",)),
        ("/tmp/a.txt ", ("/tmp/a.txt",)),  # GNOME Terminal adds a space after a drop
        ("'/tmp/my report.pdf' ", ("/tmp/my report.pdf",)),  # quoted
        ('"/tmp/it\'s.txt"', ("/tmp/it's.txt",)),
        ("/tmp/my\\ report.pdf", ("/tmp/my report.pdf",)),  # backslash-escaped
        ("/tmp/a /tmp/b", ("/tmp/a", "/tmp/b")),
        ("file:///tmp/my%20report.pdf\r\nfile:///tmp/b\r\n", ("/tmp/my report.pdf", "/tmp/b")),
        ("file://localhost/tmp/x", ("/tmp/x",)),
        ("~/notes.md", ("/home/u/notes.md",)),
        ("file:///tmp/caf%C3%A9", ("/tmp/café",)),
    ],
)
def test_dropped_paths_take_every_form_terminals_send(text: str, paths: tuple[str, ...]) -> None:
    assert dropped_paths(text, home="/home/u") == paths


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ls -l /tmp",  # a command naming a path is text
        "README.md",  # relative: text (it names a file only in some directory)
        "/tmp/a and words",
        "'/tmp/unclosed",
        "file://otherhost/tmp/x",  # another machine's file
        "https://example.org/a.txt",
        "file:relative/x",
        "/tmp/a\x00b",
    ],
)
def test_anything_else_is_text(text: str) -> None:
    assert dropped_paths(text, home="/home/u") == ()


def test_without_a_home_a_tilde_is_text() -> None:
    assert dropped_paths("~/notes.md") == ()


def test_too_many_paths_are_text() -> None:
    assert dropped_paths(" ".join(["/tmp/x"] * (MAX_DROPPED_FILES + 1))) == ()
    assert len(dropped_paths(" ".join(["/tmp/x"] * MAX_DROPPED_FILES))) == MAX_DROPPED_FILES


def test_dropped_files_must_all_exist_as_files(tmp_path: Path) -> None:
    real = tmp_path / "real file.txt"
    real.write_text("x")
    exists = lambda path: Path(path).is_file()  # noqa: E731
    assert dropped_files(f"'{real}'", exists) == (str(real),)
    assert dropped_files(f"'{real}' {tmp_path}/absent", exists) == ()
    assert dropped_files(str(tmp_path), exists) == ()  # a directory is not a file to upload


def test_an_upload_offer_comes_before_the_question_about_lines(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text("1")
    second.write_text("2")
    text = f"{first}\n{second}\n"
    exists = lambda path: Path(path).is_file()  # noqa: E731
    checks = paste_checks(
        text, bracketed=False, confirm_lines=True, offer_upload=True, is_file=exists
    )
    assert checks == (UPLOAD, LINES)
    assert paste_checks(text, bracketed=False, confirm_lines=True, is_file=exists) == (LINES,)
    assert (
        paste_checks(
            "/nonexistent/x", bracketed=True, confirm_lines=True, offer_upload=True, is_file=exists
        )
        == ()
    )
