"""settings.toml: defaults, strict checking, key names, remapping and collisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from termkeep.config.errors import did_you_mean
from termkeep.config.settings import (
    ACTIONS,
    DEFAULT_PREFIX,
    ClipboardBackground,
    ClipboardWrite,
    KeyNameError,
    LogMode,
    Notify,
    NotifyVia,
    PasteConfirm,
    PasteUpload,
    Predict,
    Settings,
    SettingsLoadError,
    canonical_event_key,
    load_settings,
    normalize_key,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(SettingsLoadError) as caught:
        load_settings(path)
    return [str(issue) for issue in caught.value.issues]


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert settings == Settings()
    assert settings.prefix == DEFAULT_PREFIX == "ctrl+backslash"
    assert settings.keys["tab.new"] == "c"
    assert settings.clipboard_write is ClipboardWrite.ALLOW
    assert settings.scrollback_lines == 10_000
    assert settings.predict is Predict.ADAPTIVE
    assert settings.clipboard_write_background is ClipboardBackground.ASK
    assert settings.paste_confirm is PasteConfirm.MULTILINE


def test_default_keymap_has_every_action_on_a_distinct_key() -> None:
    keys = Settings().keys
    assert set(keys) == {action.id for action in ACTIONS}
    assert len(set(keys.values())) == len(keys)
    assert DEFAULT_PREFIX not in keys.values()


def test_default_prefix_is_not_a_key_the_remote_commonly_needs() -> None:
    taken = {"ctrl+b", "ctrl+a", "ctrl+g", "ctrl+right_square_bracket", "ctrl+underscore"}
    assert DEFAULT_PREFIX not in taken


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("c", "c"),
        ("?", "question_mark"),
        (",", "comma"),
        ("Ctrl+\\", "ctrl+backslash"),
        ("shift+ctrl+Up", "ctrl+shift+up"),
        ("esc", "escape"),
        ("F12", "f12"),
        ("ctrl++", "ctrl+plus"),
        ("ctrl+right_square_bracket", "ctrl+right_square_bracket"),
        ("D", "D"),
    ],
)
def test_key_names_are_normalised(written: str, canonical: str) -> None:
    assert normalize_key(written) == canonical


@pytest.mark.parametrize("bad", ["", "ctrl+", "hyperdrive+x", "ctrl+nokey", "f25"])
def test_bad_key_names_are_refused_with_help(bad: str) -> None:
    with pytest.raises(KeyNameError):
        normalize_key(bad)


def test_event_keys_compare_regardless_of_modifier_order() -> None:
    assert canonical_event_key("shift+ctrl+x") == normalize_key("ctrl+shift+x")
    assert canonical_event_key("ctrl+backslash") == DEFAULT_PREFIX


def test_remap_with_dotted_and_quoted_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'prefix = "f12"\ntheme = "nord"\n[keys]\ntab.new = "o"\n"tab.close" = "k"\n'
        'demo.drop_network = ""\n',
    )
    settings = load_settings(path)
    assert settings.prefix == "f12"
    assert settings.theme == "nord"
    assert settings.keys["tab.new"] == "o"
    assert settings.keys["tab.close"] == "k"
    assert "demo.drop_network" not in settings.keys
    assert settings.action_for_key("o") == "tab.new"
    assert settings.action_for_key("c") is None


def test_unknown_action_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, '[keys]\n"tab.nwe" = "o"\n')
    (problem,) = _problems(path)
    assert "keys.tab.nwe" in problem
    assert "did you mean 'tab.new'?" in problem


def test_duplicate_key_names_both_actions(tmp_path: Path) -> None:
    path = _write(tmp_path, '[keys]\ntab.rename = "c"\n')
    (problem,) = _problems(path)
    assert "'c' is already the key of 'tab.new'" in problem


def test_a_key_equal_to_the_prefix_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 'prefix = "f12"\n[keys]\nhelp = "F12"\n')
    (problem,) = _problems(path)
    assert "keys.help" in problem
    assert "prefix itself" in problem


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'them = "nord"\nprefix = "hyper+"\nscrollback_lines = -5\nclipboard_write = "maybe"\n'
        'prefix_timeout = "soon"\n[keys]\nhelp = 3\n',
    )
    text = "\n".join(_problems(path))
    assert "unknown setting 'them'; did you mean 'theme'?" in text
    assert "prefix:" in text
    assert "scrollback_lines: must be from 0 to" in text
    assert 'clipboard_write: must be "allow" or "deny", not \'maybe\'' in text
    assert "prefix_timeout: must be a number" in text
    assert "keys.help: must be a key name in quotes" in text


@pytest.mark.parametrize("value", ["adaptive", "always", "never"])
def test_predict_takes_each_mode(tmp_path: Path, value: str) -> None:
    settings = load_settings(_write(tmp_path, f'predict = "{value}"\n'))
    assert settings.predict is Predict(value)


@pytest.mark.parametrize("line", ['predict = "sometimes"', "predict = false", 'predict = ""'])
def test_predict_refuses_anything_else_naming_the_choices(tmp_path: Path, line: str) -> None:
    (problem,) = _problems(_write(tmp_path, f"{line}\n"))
    assert 'predict: must be "adaptive" or "always" or "never"' in problem


def test_notify_defaults_to_the_bell_and_takes_its_choices(tmp_path: Path) -> None:
    assert Settings().notify is Notify.BELL
    assert Settings().notify_via is NotifyVia.AUTO
    settings = load_settings(_write(tmp_path, 'notify = "all"\nnotify_via = "osc99"\n'))
    assert settings.notify is Notify.ALL
    assert settings.notify_via is NotifyVia.OSC99
    (problem,) = _problems(_write(tmp_path, 'notify = "loud"\n'))
    assert 'notify: must be "off" or "bell" or "done" or "all"' in problem
    (problem,) = _problems(_write(tmp_path, 'notify_via = "osc52"\n'))
    assert 'notify_via: must be "auto" or "osc9" or "osc99" or "osc777"' in problem


def test_background_clipboard_writes_and_paste_confirmation_take_their_choices(
    tmp_path: Path,
) -> None:
    text = 'clipboard_write_background = "deny"\npaste_confirm = "never"\n'
    settings = load_settings(_write(tmp_path, text))
    assert settings.clipboard_write_background is ClipboardBackground.DENY
    assert settings.paste_confirm is PasteConfirm.NEVER
    problems = _problems(
        _write(tmp_path, 'clipboard_write_background = "once"\npaste_confirm = true\n')
    )
    assert problems == [
        f"{tmp_path / 'settings.toml'}: clipboard_write_background: must be "
        '"ask" or "allow" or "deny", not \'once\'',
        f'{tmp_path / "settings.toml"}: paste_confirm: must be "multiline" or "never", not True',
    ]


def test_paste_upload_and_downloads_dir_take_their_values(tmp_path: Path) -> None:
    defaults = load_settings(_write(tmp_path, ""))
    assert (defaults.paste_upload, defaults.downloads_dir) == (PasteUpload.ASK, "")
    text = 'paste_upload = "never"\ndownloads_dir = "~/incoming"\n'
    settings = load_settings(_write(tmp_path, text))
    assert (settings.paste_upload, settings.downloads_dir) == (PasteUpload.NEVER, "~/incoming")
    problems = _problems(_write(tmp_path, 'paste_upload = "always"\ndownloads_dir = 3\n'))
    assert problems == [
        f'{tmp_path / "settings.toml"}: paste_upload: must be "ask" or "never", not \'always\'',
        f"{tmp_path / 'settings.toml'}: downloads_dir: must be a string in quotes, "
        'e.g. downloads_dir = "~/Downloads"',
    ]


def test_session_logs_are_off_by_default_and_take_a_mode_and_a_pattern(tmp_path: Path) -> None:
    assert load_settings(_write(tmp_path, "")).log is LogMode.OFF
    settings = load_settings(_write(tmp_path, 'log = "raw"\nlog_path = "&H &T.log"\n'))
    assert (settings.log, settings.log_path) == (LogMode.RAW, "&H &T.log")
    (problem,) = _problems(_write(tmp_path, 'log = "keystrokes"\n'))
    assert 'log: must be "off" or "output" or "raw"' in problem


def test_broken_file_is_reported_and_never_rewritten(tmp_path: Path) -> None:
    original = "prefix = [\n"
    path = _write(tmp_path, original)
    (problem,) = _problems(path)
    assert "not valid TOML" in problem
    assert path.read_text() == original


def test_keys_must_be_a_table(tmp_path: Path) -> None:
    path = _write(tmp_path, 'keys = "c"\n')
    (problem,) = _problems(path)
    assert "keys: must be a table" in problem


def test_the_readme_example_is_a_valid_settings_file(tmp_path: Path) -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    blocks = [block.split("```")[0] for block in readme.read_text().split("```toml\n")[1:]]
    (settings_block,) = [block for block in blocks if block.startswith("theme = ")]
    settings = load_settings(_write(tmp_path, settings_block))
    assert settings.prefix == "ctrl+backslash"
    assert settings.keys["tab.new"] == "o"
    assert settings.keys["help"] == "h"
    assert settings.predict is Predict.ADAPTIVE


def test_one_did_you_mean_for_every_config_file() -> None:
    assert did_you_mean("scrolback_lines", ["scrollback_lines", "theme"]) == (
        "; did you mean 'scrollback_lines'?"
    )
    assert did_you_mean("zzz", ["scrollback_lines", "theme"]) == ""
