"""Theme files: the shipped ones load, broken ones are reported together, users override."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from termkeep import paths
from termkeep.config.errors import ConfigError
from termkeep.config.themes import (
    ANSI_NAMES,
    DEFAULT_THEME_NAME,
    FALLBACK_THEME,
    UI_COLOUR_KEYS,
    ThemeLoadError,
    load_theme_file,
    load_themes,
)

BUILTIN = paths.builtin_themes_dir()


def _copy_builtin(name: str, to: Path, new_name: str | None = None) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    target = to / f"{new_name or name}.toml"
    shutil.copy(BUILTIN / f"{name}.toml", target)
    return target


def test_at_least_four_builtin_themes_load_without_issues(tmp_path: Path) -> None:
    catalog = load_themes(BUILTIN, tmp_path / "none")
    assert catalog.issues == ()
    assert len(catalog.themes) >= 4
    assert {"termkeep-dark", "termkeep-light"} <= set(catalog.themes)
    assert catalog.themes["termkeep-light"].dark is False
    for theme in catalog.themes.values():
        assert set(theme.ui) == set(UI_COLOUR_KEYS)
        assert len(theme.terminal.ansi) == len(ANSI_NAMES) == 16
        assert all(len(colour) == 7 for colour in theme.terminal.ansi)


def test_user_theme_with_builtin_name_replaces_it(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    target = _copy_builtin("nord", user, new_name=DEFAULT_THEME_NAME)
    catalog = load_themes(BUILTIN, user)
    assert catalog.themes[DEFAULT_THEME_NAME].source == target
    assert catalog.themes[DEFAULT_THEME_NAME].ui["background"] == "#2e3440"


def test_short_and_upper_case_colours_are_normalised(tmp_path: Path) -> None:
    path = _copy_builtin("nord", tmp_path)
    text = path.read_text().replace('primary = "#88c0d0"', 'primary = "#ABC"')
    path.write_text(text)
    assert load_theme_file(path).ui["primary"] == "#aabbcc"


def test_unknown_key_and_bad_colour_are_reported_together(tmp_path: Path) -> None:
    path = _copy_builtin("nord", tmp_path)
    text = path.read_text()
    text = text.replace('primary = "#88c0d0"', 'primray = "#88c0d0"')
    text = text.replace('cursor = "#d8dee9"', 'cursor = "blue"')
    path.write_text(text)
    with pytest.raises(ThemeLoadError) as caught:
        load_theme_file(path)
    messages = [str(issue) for issue in caught.value.issues]
    assert any("ui.primray" in m and "did you mean 'primary'" in m for m in messages)
    assert any("ui.primary" in m and "missing" in m for m in messages)
    assert any("terminal.cursor" in m and "'blue' is not a colour" in m for m in messages)
    assert all(str(path) in m for m in messages)


def test_unknown_table_suggests_the_right_one(tmp_path: Path) -> None:
    path = _copy_builtin("nord", tmp_path)
    path.write_text(path.read_text().replace("[ansi]", "[ansii]"))
    with pytest.raises(ThemeLoadError) as caught:
        load_theme_file(path)
    text = str(caught.value)
    assert "unknown table 'ansii'; did you mean 'ansi'?" in text
    assert "table [ansi] is missing" in text


def test_dark_must_be_a_boolean(tmp_path: Path) -> None:
    path = _copy_builtin("nord", tmp_path)
    path.write_text(path.read_text().replace("dark = true", 'dark = "yes"'))
    with pytest.raises(ThemeLoadError, match=r"ui\.dark: must be true or false"):
        load_theme_file(path)


def test_broken_files_are_collected_and_good_ones_still_load(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    (user / "syntax.toml").write_text("[ui\nprimary = 1\n")
    (user / "colours.toml").write_text('[ui]\nprimary = "red"\n')
    _copy_builtin("gruvbox-dark", user, new_name="mine")
    catalog = load_themes(BUILTIN, user)
    assert "mine" in catalog.themes
    assert "syntax" not in catalog.themes
    assert "colours" not in catalog.themes
    sources = {issue.source.name for issue in catalog.issues}
    assert sources == {"syntax.toml", "colours.toml"}
    assert any("not valid TOML" in issue.message for issue in catalog.issues)


def test_resolve_falls_back_to_default_then_anything(tmp_path: Path) -> None:
    catalog = load_themes(BUILTIN, tmp_path / "none")
    assert catalog.resolve("no-such-theme").name == DEFAULT_THEME_NAME
    assert catalog.resolve("nord").name == "nord"
    only = tmp_path / "only"
    _copy_builtin("nord", only)
    assert load_themes(only, tmp_path / "none").resolve("x").name == "nord"
    assert load_themes(tmp_path / "empty", tmp_path / "none").resolve("x") is FALLBACK_THEME


def test_a_bad_theme_is_a_config_error_like_any_other_file(tmp_path: Path) -> None:
    path = _copy_builtin("nord", tmp_path)
    path.write_text(path.read_text().replace("dark = true", "dark = 1"))
    with pytest.raises(ConfigError, match=r"ui\.dark: must be true or false"):
        load_theme_file(path)
