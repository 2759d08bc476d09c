"""Where a pane's shell is: the tmux command (quoted for any login shell) and its answer."""

from __future__ import annotations

import shlex

import pytest

from termkeep.tmux.pane import PaneError, is_shell, parse_place, place_command


def test_the_command_names_the_session_exactly_and_survives_sh() -> None:
    command = place_command("tk-web")
    words = shlex.split(command)
    assert words[:2] == ["sh", "-c"]
    inner = shlex.split(words[2])
    assert inner[:5] == ["tmux", "display-message", "-p", "-t", "=tk-web:"]
    assert inner[5] == "#{alternate_on}#{pane_current_command}"
    assert inner[-1] == "#{pane_current_path}"


def test_a_path_with_spaces_and_separators_comes_back_whole() -> None:
    place = parse_place(b"0bash\n/srv/a b|c\td\n", b"", 0)
    assert (place.path, place.command, place.alternate) == ("/srv/a b|c\td", "bash", False)
    assert place.at_shell


def test_a_full_screen_program_is_seen() -> None:
    place = parse_place(b"1vim\n/etc\n", b"", 0)
    assert place.alternate
    assert not place.at_shell


@pytest.mark.parametrize(
    ("command", "shell"),
    [("bash", True), ("-zsh", True), ("/usr/bin/fish", True), ("ssh", False), ("sudo", False),
     ("vim", False), ("python3", False), ("", False)],
)  # fmt: skip
def test_shells_are_told_from_other_programs(command: str, shell: bool) -> None:
    assert is_shell(command) is shell


@pytest.mark.parametrize(
    ("output", "stderr", "status"),
    [
        (b"", b"can't find session: =tk-x", 1),
        (b"garbage\n", b"", 0),
        (b"0bash\nrelative\n", b"", 0),
        (b"bash\n/srv\n", b"", 0),
    ],
)
def test_anything_else_is_a_plain_error(output: bytes, stderr: bytes, status: int) -> None:
    with pytest.raises(PaneError, match="tmux did not say where the pane is"):
        parse_place(output, stderr, status)
