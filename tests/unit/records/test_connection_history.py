"""The connection history file: records in, records out, summaries, bounds and bad lines."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from termkeep.records.connection_history import (
    MAX_TEXT,
    Drop,
    HistoryJournal,
    RttStats,
    RttTimeline,
    drop_rows,
    event_record,
    read_history,
    same_tmux_text,
    summarize,
    summary_of,
)

HOUR = 3600.0


def drop(
    start: float,
    recovery: float | None,
    *,
    session: str = "s1",
    profile: str = "web",
    same_tmux: bool | None = True,
    outcome: str = "",
) -> Drop:
    end = start + (recovery if recovery is not None else 5.0)
    return Drop(
        session=session,
        profile=profile,
        host="web.example",
        start=start,
        end=end,
        cause="no reply for 6.0 s",
        recovery=recovery,
        same_tmux=same_tmux if recovery is not None else None,
        outcome=outcome,
    )


def write_session(
    journal: HistoryJournal, session: str, profile: str, start: float, end: float
) -> None:
    journal.append(event_record("open", session, profile, "h", start))
    journal.append(event_record("close", session, profile, "h", end))


def test_median_worst_and_drops_per_hour_of_one_profile() -> None:
    drops = [drop(100, 0.4), drop(200, 2.0), drop(300, 0.1), drop(400, None, outcome="closed")]
    summary = summary_of("web", sessions=1, observed=2 * HOUR, drops=drops)
    assert summary.drops == 4
    assert summary.not_recovered == 1
    assert summary.median_recovery == 0.4  # of the three that recovered
    assert summary.worst_recovery == 2.0
    assert summary.drops_per_hour == 2.0


def test_an_even_count_takes_the_middle_two_and_no_time_means_no_rate() -> None:
    summary = summary_of("web", 1, 0.0, [drop(1, 1.0), drop(2, 3.0)])
    assert summary.median_recovery == 2.0
    assert summary.drops_per_hour is None
    empty = summary_of("web", 1, HOUR, [])
    assert (empty.drops_per_hour, empty.median_recovery, empty.worst_recovery) == (0, None, None)


def test_records_round_trip_and_summaries_are_per_profile(tmp_path: Path) -> None:
    path = tmp_path / "state" / "connections.jsonl"
    journal = HistoryJournal(path)
    write_session(journal, "s1", "web", 0, HOUR)
    write_session(journal, "s2", "web", 10 * HOUR, 11 * HOUR)  # two sessions: 2 h observed
    write_session(journal, "s3", "db", 0, HOUR / 2)
    for record in (
        drop(600, 0.5),
        drop(10 * HOUR + 900, 1.5, session="s2"),
        drop(60, 8.0, session="s3", profile="db"),
    ):
        journal.append(record.record())

    read = read_history(path)
    assert read.bad_lines == []
    assert [d.start for d in read.drops] == [60, 600, 10 * HOUR + 900]
    assert read.drops[1] == drop(600, 0.5)
    (web,) = summarize(read, "web")
    assert (web.sessions, web.observed, web.drops) == (2, 2 * HOUR, 2)
    assert web.drops_per_hour == 1.0
    assert (web.median_recovery, web.worst_recovery) == (1.0, 1.5)
    assert [s.profile for s in summarize(read)] == ["db", "web"]
    assert summarize(read, "nobody") == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_session_without_its_close_counts_up_to_its_last_record(tmp_path: Path) -> None:
    # A crash leaves no close record: the time up to the last drop still counts.
    journal = HistoryJournal(tmp_path / "h.jsonl")
    journal.append(event_record("open", "s1", "web", "h", 0))
    journal.append(drop(HOUR - 10, 10.0).record())
    (summary,) = summarize(read_history(tmp_path / "h.jsonl"))
    assert summary.observed == HOUR
    assert summary.drops_per_hour == 1.0


def test_garbage_lines_are_listed_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    journal = HistoryJournal(path)
    journal.append(event_record("open", "s1", "web", "h", 0))
    with path.open("a") as file:
        file.write("not json at all\n")
        file.write('{"kind": "drop", "session": "s1"}\n')  # fields missing
        file.write(
            '{"kind":"drop","session":"s1","profile":"web","host":"h","time":1,'
            '"start":"yesterday","end":1,"cause":"x","recovery":1,"same_tmux":true,'
            '"held_delivered":0,"held_discarded":0}\n'
        )  # a wrong type
        file.write("[1, 2]\n\n")
        file.write(
            '{"kind": "something-else", "session": "s1", "profile": "web",'
            ' "host": "h", "time": 3}\n'
        )
        file.write('{"v":1,"kind":"close","session":"s1","profile":"web","host":"h","time":')
    journal.append(drop(10, 1.0).record())  # after a torn line, the next record still reads

    read = read_history(path)
    assert [number for _, number in read.bad_lines] == [2, 3, 4, 5, 7, 8]
    assert [d.start for d in read.drops] == [10]


def test_the_file_is_rotated_at_its_cap_and_both_parts_are_read(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    journal = HistoryJournal(path, max_bytes=2000)
    for index in range(40):
        journal.append(drop(float(index), 0.5).record())
    parts = sorted(p.name for p in tmp_path.iterdir())
    assert parts == ["h.jsonl", "h.jsonl.1"]  # one older part only: bounded at twice the cap
    assert path.stat().st_size <= 2000
    assert (tmp_path / "h.jsonl.1").stat().st_size <= 2000
    starts = [d.start for d in read_history(path).drops]
    assert starts == sorted(starts)
    assert starts[-1] == 39.0  # the newest survive; the oldest went with the dropped part
    assert 0.0 not in starts


def test_outside_text_is_kept_short_and_harmless(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    record = drop(0, 1.0).record() | {"cause": "\x1b]0;pwned\x07" + "x" * 5000}
    path.write_text(json.dumps(record) + "\n")
    (read,) = read_history(path).drops
    assert "\x1b" not in read.cause
    assert "\x07" not in read.cause
    assert len(read.cause) == MAX_TEXT


@pytest.mark.parametrize(
    ("recovery", "same", "outcome", "shown"),
    [
        (0.3, True, "", "same"),
        (0.3, False, "", "new session"),
        (0.3, None, "", "no tmux"),
        (None, None, "closed", "not recovered (closed)"),
    ],
)
def test_the_tmux_column(
    recovery: float | None, same: bool | None, outcome: str, shown: str
) -> None:
    assert same_tmux_text(drop(0, recovery, same_tmux=same, outcome=outcome)) == shown


def test_a_drop_row_has_every_column() -> None:
    (row,) = drop_rows([drop(0, 0.42)])
    profile, start, end, recovery, tmux, held, cause = row
    assert (profile, recovery, tmux, held, cause) == (
        "web",
        "0.42 s",
        "same",
        "-",
        "no reply for 6.0 s",
    )
    assert start.count(":") == 2
    assert end.count(":") == 2


def test_the_rtt_timeline_spans_the_whole_session_in_bounded_memory() -> None:
    timeline = RttTimeline(bars=4)
    for sample in range(1, 8):  # fewer than 2 x 4: one bar per sample
        timeline.add(sample / 1000)
    assert timeline.bars() == (0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007)
    timeline.add(0.008)  # eight bars: neighbours merge, keeping each pair's highest
    assert timeline.bars() == (0.002, 0.004, 0.006, 0.008)
    timeline.add(0.5)  # a spike shows at once, in a bar of its own until the pair fills
    assert timeline.bars() == (0.002, 0.004, 0.006, 0.008, 0.5)
    timeline.add(0.001)
    assert timeline.bars() == (0.002, 0.004, 0.006, 0.008, 0.5)
    for _ in range(1000):
        timeline.add(0.003)
    assert len(timeline.bars()) <= 8
    assert max(timeline.bars()) == 0.5  # the spike is still in the picture
    assert timeline.bars()[-1] == 0.003
    assert timeline.stats == RttStats(count=1010, last=0.003, low=0.001, high=0.5)


def test_a_directory_in_the_files_place_is_never_moved(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.mkdir()
    (path / "keep").write_text("mine")
    journal = HistoryJournal(path, max_bytes=10)
    with pytest.raises(OSError, match="is a directory, not a regular file"):
        journal.append(drop(0, 1.0).record())
    assert (path / "keep").read_text() == "mine"
    assert not (tmp_path / "h.jsonl.1").exists()


def test_an_away_line_goes_with_its_sessions_latest_drop(tmp_path: Path) -> None:
    path = tmp_path / "connections.jsonl"
    journal = HistoryJournal(path)
    write_session(journal, "s1", "web", 0, HOUR)
    write_session(journal, "s2", "web", 0, HOUR)
    journal.append(drop(600, 0.5).record())
    journal.append(drop(700, 9.0).record())
    journal.append(drop(710, 1.0, session="s2").record())
    said = "while you were away (12 s): 340 lines printed, make ended"
    journal.append(event_record("away", "s1", "web", "web.example", 709) | {"text": said})

    read = read_history(path)
    assert read.bad_lines == []
    assert [(d.session, d.start, d.away) for d in read.drops] == [
        ("s1", 600, ""),
        ("s1", 700, said),
        ("s2", 710, ""),
    ]
