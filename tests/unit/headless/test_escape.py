"""The ssh-style escape scanner of `termkeep attach`."""

from __future__ import annotations

import pytest

from termkeep.headless.escape import EscapeCommand, EscapeScanner


@pytest.mark.parametrize(
    ("typed", "to_remote", "commands"),
    [
        (b"ls\r", b"ls\r", []),
        (b"~.", b"", [EscapeCommand.DISCONNECT]),
        (b"ls\r~.", b"ls\r", [EscapeCommand.DISCONNECT]),
        (b"\n~.", b"\n", [EscapeCommand.DISCONNECT]),
        (b"a~.", b"a~.", []),  # not after a newline: plain text
        (b"~~", b"~", []),
        (b"~~.", b"~.", []),  # the sent ~ does not start a new escape
        (b"~x", b"~x", []),
        (b"~R", b"", [EscapeCommand.RECONNECT]),
        (b"~?~.", b"", [EscapeCommand.HELP, EscapeCommand.DISCONNECT]),
        (b"echo ~/x\r", b"echo ~/x\r", []),
        (b"~/x", b"~/x", []),
    ],
)
def test_escape_sequences(typed: bytes, to_remote: bytes, commands: list[EscapeCommand]) -> None:
    result = EscapeScanner().feed(typed)
    assert result.to_remote == to_remote
    assert result.commands == commands


@pytest.mark.parametrize("typed", [b"ls\r~.", b"~~x\r~R", b"a~b\n~?\r~~\r~.", b"\r\r~x~.\r~."])
def test_same_result_whatever_the_chunking(typed: bytes) -> None:
    whole = EscapeScanner().feed(typed)
    scanner = EscapeScanner()
    pieces = [scanner.feed(typed[i : i + 1]) for i in range(len(typed))]
    assert b"".join(p.to_remote for p in pieces) == whole.to_remote
    assert [c for p in pieces for c in p.commands] == whole.commands
