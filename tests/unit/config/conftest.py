"""Fixtures for the config tests: a private config dir per test, set the way users set it."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.store import ProfileStore

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TERMKEEP_CONFIG_DIR pointing at an empty directory of this test."""
    directory = tmp_path / "config"
    monkeypatch.setenv("TERMKEEP_CONFIG_DIR", str(directory))
    return directory


@pytest.fixture
def store(config_dir: Path) -> ProfileStore:
    """A ProfileStore on the default location, i.e. ``$TERMKEEP_CONFIG_DIR/hosts``."""
    return ProfileStore()
