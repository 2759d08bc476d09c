"""The OSC 52 filter: writes reported, reads dropped, payloads bounded, any split; the gate
that decides which tab's writes reach the clipboard."""

from __future__ import annotations

import base64
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.terminal.clipboard import (
    BackgroundWrites,
    ClipboardGate,
    ClipboardWrite,
    Osc52Filter,
    Verdict,
    parse_osc52,
)


def run(chunks: list[bytes], max_payload: int = 1 << 20) -> tuple[bytes, list[ClipboardWrite]]:
    writes: list[ClipboardWrite] = []
    guard = Osc52Filter(writes.append, max_payload=max_payload)
    passed = b"".join(guard.filter(chunk) for chunk in chunks)
    return passed, writes


def osc52(selection: str, text: str, end: bytes = b"\x07") -> bytes:
    encoded = base64.b64encode(text.encode())
    return b"\x1b]52;" + selection.encode() + b";" + encoded + end


STREAM = (
    b"a\x1b[31m"
    + osc52("c", "one")
    + b"b\x1b]2;title\x07"
    + osc52("p", "two", b"\x1b\\")
    + b"\x1b]52;c;?\x07c\x1b]5"
    + b"\x1b]52;c;aGk=\x18d"  # CAN aborts: nothing written
    + b"\x1b]52;c;aGk=\x1b[0me"  # ESC aborts and starts CSI, which passes through
)
EXPECTED_PASSED = b"a\x1b[31mb\x1b]2;title\x07c\x1b]5d\x1b[0me"


def test_writes_reported_reads_and_aborts_dropped() -> None:
    passed, writes = run([STREAM])
    assert passed == EXPECTED_PASSED
    assert writes == [ClipboardWrite("c", "one"), ClipboardWrite("p", "two")]


def test_every_two_way_split_gives_the_same_result() -> None:
    for offset in range(len(STREAM) + 1):
        assert run([STREAM[:offset], STREAM[offset:]]) == (
            EXPECTED_PASSED,
            [ClipboardWrite("c", "one"), ClipboardWrite("p", "two")],
        ), offset


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=20))
def test_random_chunkings_give_the_same_result(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(STREAM)]
    chunks = [STREAM[start:end] for start, end in itertools.pairwise(bounds)]
    assert run(chunks) == (
        EXPECTED_PASSED,
        [ClipboardWrite("c", "one"), ClipboardWrite("p", "two")],
    )


def test_oversized_payload_is_dropped_and_the_stream_continues() -> None:
    payload = b"QUFB" * 1000
    passed, writes = run([b"x\x1b]52;c;", payload, payload, b"\x07y", osc52("c", "ok")], 5000)
    assert passed == b"xy"
    assert writes == [ClipboardWrite("c", "ok")]


def test_parse_rejects_garbage_and_reads() -> None:
    assert parse_osc52(b"c;?") is None
    assert parse_osc52(b"c;not base64!") is None
    assert parse_osc52(b"no separator") is None
    assert parse_osc52(b"c;") == ClipboardWrite("c", "")
    assert parse_osc52(b"c;/w==") == ClipboardWrite("c", "\ufffd")


# -- ClipboardGate: which tab's writes reach the clipboard -------------------------------


@pytest.mark.parametrize("background", list(BackgroundWrites))
def test_the_tab_on_screen_always_writes(background: BackgroundWrites) -> None:
    assert ClipboardGate(background).request("copied", shown=True) is Verdict.WRITE


def test_a_background_tab_follows_allow_and_deny_without_asking() -> None:
    assert ClipboardGate(BackgroundWrites.ALLOW).request("x", shown=False) is Verdict.WRITE
    assert ClipboardGate(BackgroundWrites.DENY).request("x", shown=False) is Verdict.DROP


def test_a_background_tab_asks_once_and_the_answer_holds_for_the_tab() -> None:
    gate = ClipboardGate()
    assert gate.request("first", shown=False) is Verdict.ASK
    assert gate.request("second", shown=False) is Verdict.WAIT  # one question at a time
    assert gate.answered(True) == "second"  # the latest write waited: it is the one written
    assert gate.answer is True
    assert gate.request("third", shown=False) is Verdict.WRITE  # not asked again

    denied = ClipboardGate()
    assert denied.request("secret", shown=False) is Verdict.ASK
    assert denied.answered(False) is None
    assert denied.request("again", shown=False) is Verdict.DROP
    assert denied.request("on screen", shown=True) is Verdict.WRITE  # seen: the user's own
