"""The Emulator agrees with real tmux: recorded client streams replayed, and recorded live.

A stream is what a tmux client's terminal received (see scripts/record_tmux_streams.py);
each checkpoint holds the byte offset and what `tmux capture-pane` showed at that moment.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from termkeep.terminal.emulator import Emulator

ROOT = Path(__file__).parents[2]
STREAMS_DIR = ROOT / "tests" / "data" / "tmux_streams"
RECORDER_PATH = ROOT / "scripts" / "record_tmux_streams.py"


@dataclass(frozen=True)
class Recording:
    """A recorded client stream with its size and checkpoints."""

    name: str
    stream: bytes
    columns: int
    rows: int
    checkpoints: list[dict[str, object]]


def load(directory: Path) -> list[Recording]:
    recordings = []
    for meta_path in sorted(directory.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        recordings.append(
            Recording(
                meta_path.stem,
                meta_path.with_suffix(".bin").read_bytes(),
                meta["columns"],
                meta["rows"],
                meta["checkpoints"],
            )
        )
    return recordings


def screen_lines(emulator: Emulator) -> list[str]:
    lines = emulator.text().split("\n")
    while lines and not lines[-1]:
        lines.pop()
    return lines


def expected_lines(checkpoint: dict[str, object]) -> list[str]:
    screen = checkpoint["screen"]
    assert isinstance(screen, list)
    lines = [str(line) for line in screen]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def disagreements(recording: Recording) -> list[str]:
    """Checkpoints where the emulator's screen differs from tmux's, described."""
    emulator = Emulator(recording.columns, recording.rows, write=lambda _: None)
    position = 0
    problems = []
    for checkpoint in recording.checkpoints:
        offset = checkpoint["offset"]
        assert isinstance(offset, int)
        emulator.feed(recording.stream[position:offset])
        position = offset
        got, expected = screen_lines(emulator), expected_lines(checkpoint)
        if got != expected:
            first = next(
                (
                    i
                    for i, pair in enumerate(itertools.zip_longest(got, expected))
                    if pair[0] != pair[1]
                )
            )
            problems.append(
                f"{recording.name} after {checkpoint['step']!r}, line {first}: "
                f"emulator {got[first : first + 1]} tmux {expected[first : first + 1]}"
            )
    return problems


RECORDINGS = load(STREAMS_DIR)


def test_recordings_cover_both_sizes_and_every_scenario() -> None:
    names = {recording.name for recording in RECORDINGS}
    for scenario in ("shell", "vim", "less"):
        assert {f"{scenario}-80x24", f"{scenario}-240x60"} <= names


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda recording: recording.name)
def test_recorded_stream_agrees_with_tmux_at_every_checkpoint(recording: Recording) -> None:
    assert recording.checkpoints
    assert disagreements(recording) == []


def final_screen(recording: Recording, chunks: list[bytes]) -> tuple[object, ...]:
    emulator = Emulator(recording.columns, recording.rows, write=lambda _: None)
    for chunk in chunks:
        emulator.feed(chunk)
    snapshot = emulator.snapshot()
    return (
        [
            (row.graphemes, row.widths, [snapshot.styles[i] for i in row.styles])
            for row in snapshot.rows
        ],
        snapshot.cursor,
        emulator.modes(),
    )


def test_smallest_recording_split_at_every_offset_gives_the_same_screen() -> None:
    recording = min(RECORDINGS, key=lambda recording: len(recording.stream))
    stream = recording.stream
    whole = final_screen(recording, [stream])
    for offset in range(len(stream) + 1):
        assert final_screen(recording, [stream[:offset], stream[offset:]]) == whole, offset


@pytest.mark.parametrize("recording", RECORDINGS, ids=lambda recording: recording.name)
def test_recorded_stream_in_random_chunks_gives_the_same_screen(recording: Recording) -> None:
    rng = random.Random(recording.name)  # noqa: S311 -- seeded for a reproducible run
    stream = recording.stream
    whole = final_screen(recording, [stream])
    for _ in range(5):
        cuts = sorted(rng.randrange(len(stream) + 1) for _ in range(rng.randrange(1, 500)))
        chunks = [stream[a:b] for a, b in itertools.pairwise([0, *cuts, len(stream)])]
        assert final_screen(recording, chunks) == whole


def load_recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("record_tmux_streams", RECORDER_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_live_tmux_recording_agrees_with_the_emulator(tmp_path: Path) -> None:
    recorder = load_recorder()
    names = recorder.record_all(tmp_path)
    assert len(names) == 6
    recordings = load(tmp_path)
    assert sum(len(recording.checkpoints) for recording in recordings) >= 40
    problems = [problem for recording in recordings for problem in disagreements(recording)]
    assert problems == []
