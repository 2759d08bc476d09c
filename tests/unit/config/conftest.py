"""Fixtures for the config tests: a store on the test's own config dir (tests/fixtures/plugin.py
gives every test one, set the way users set it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.store import ProfileStore

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def store() -> ProfileStore:
    """A ProfileStore on the default location, i.e. ``$TERMKEEP_CONFIG_DIR/hosts``."""
    return ProfileStore()
