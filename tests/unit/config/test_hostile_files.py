"""Hostile files in the config directory: FIFOs, devices, huge and deeply nested files.

Each is refused with one issue naming the file and the reason, and every other file still
loads. The files are real (mkfifo, symlinks to devices, sparse files); a FIFO that were
opened for reading would block the test, so those tests carry a short timeout.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from termkeep import paths
from termkeep.config.files import ConfigFileError, load_toml_file, read_config_bytes
from termkeep.config.profile import Profile
from termkeep.config.settings import SettingsLoadError, load_settings
from termkeep.config.store import ProfileStore
from termkeep.config.themes import load_themes
from termkeep.platform.files import (
    MAX_CONFIG_BYTES,
    MAX_TOML_NESTING,
    ensure_private_dir,
    toml_nesting_problem,
)

FIFO_TIMEOUT = 20
"""Seconds before a test that would hang on a FIFO fails instead (pytest-timeout)."""

DEEP = 100_000
DEEP_FILES = {
    "arrays": "a = " + "[" * DEEP + "]" * DEEP + "\n",
    "inline tables": "a = " + "{b = " * DEEP + "1" + "}" * DEEP + "\n",
    "dotted key": ".".join(["k"] * DEEP) + " = 1\n",
    "table header": "[" + ".".join(["t"] * DEEP) + "]\nx = 1\n",
}


def _good_profiles(store: ProfileStore) -> None:
    store.save(Profile(name="web", host="web.example.org"))
    store.save(Profile(name="db", host="db.example.org"))


def _only_issue(store: ProfileStore, path: Path) -> str:
    result = store.load_all()
    assert [profile.name for profile in result.profiles] == ["db", "web"]
    [issue] = result.errors
    assert issue.source == str(path)
    return issue.message


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_a_fifo_profile_is_refused_without_being_opened(store: ProfileStore) -> None:
    _good_profiles(store)
    fifo = store.path_for("pipe")
    os.mkfifo(fifo)
    assert _only_issue(store, fifo) == (
        "is a FIFO (named pipe), not a regular file; replace it with a file"
    )


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_a_link_to_a_device_is_refused_and_a_link_to_a_file_still_loads(
    store: ProfileStore, tmp_path: Path
) -> None:
    _good_profiles(store)
    zero = store.path_for("zero")
    zero.symlink_to("/dev/zero")  # read whole, it would never end
    dotfiles = tmp_path / "dotfiles" / "linked.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text('host = "linked.example.org"\n')
    store.path_for("linked").symlink_to(dotfiles)
    result = store.load_all()
    assert [profile.name for profile in result.profiles] == ["db", "linked", "web"]
    assert [str(issue) for issue in result.errors] == [
        f"{zero}: is a character device, not a regular file; replace it with a file"
    ]


def test_a_directory_named_like_a_profile_is_reported(store: ProfileStore) -> None:
    _good_profiles(store)
    folder = store.path_for("folder")
    folder.mkdir()
    assert "is a directory, not a regular file" in _only_issue(store, folder)


def test_a_200_mb_profile_is_refused_from_its_size(store: ProfileStore) -> None:
    _good_profiles(store)
    huge = store.path_for("huge")
    with huge.open("wb") as file:
        file.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    assert _only_issue(store, huge) == (
        f"is 209,715,200 bytes, more than the {MAX_CONFIG_BYTES:,} a config file may have; "
        "shorten it"
    )


def test_the_size_cap_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "exact.toml"
    path.write_bytes(b"#" * 100)
    assert read_config_bytes(path, limit=100) == b"#" * 100
    with pytest.raises(ConfigFileError, match="is 100 bytes, more than the 99"):
        read_config_bytes(path, limit=99)


@pytest.mark.parametrize("kind", DEEP_FILES)
def test_a_file_nested_100000_deep_is_refused_and_the_others_list(
    store: ProfileStore, kind: str
) -> None:
    _good_profiles(store)
    deep = store.path_for("deep")
    deep.write_text(DEEP_FILES[kind])
    message = _only_issue(store, deep)
    assert message.endswith(f"nested more than {MAX_TOML_NESTING} deep; flatten the file")


def test_nesting_is_counted_outside_strings_and_comments_only() -> None:
    brackets = "[" * 200
    text = (
        f'a = "{brackets}"\n'
        f"b = '{brackets}'\n"
        f'c = """\n{brackets}\n"""\n'
        f"d = '''\n{brackets}\n'''\n"
        f"# {brackets}\n"
        f'e = "escaped quote \\" {brackets}"\n'
        "f = [1.5, 2.5, 1979-05-27T07:32:00.999]\n"
        'site."a.b.c".port = 1\n'
    )
    assert toml_nesting_problem(text) is None


def test_the_nesting_limit_itself_is_allowed_one_more_is_not(tmp_path: Path) -> None:
    limit = MAX_TOML_NESTING
    at_limit = tmp_path / "at.toml"
    at_limit.write_text("a = " + "[" * limit + "]" * limit + "\n")
    assert load_toml_file(at_limit) == {"a": _nested_list(limit)}
    over = tmp_path / "over.toml"
    over.write_text("x = 1\n\na = " + "[" * (limit + 1) + "]" * (limit + 1) + "\n")
    with pytest.raises(ConfigFileError) as caught:
        load_toml_file(over)
    assert caught.value.line == 3
    key_parts = tmp_path / "parts.toml"
    key_parts.write_text(".".join(["k"] * limit) + " = 1\n")
    assert load_toml_file(key_parts) is not None
    key_parts.write_text(".".join(["k"] * (limit + 1)) + " = 1\n")
    with pytest.raises(ConfigFileError, match="dotted key parts nested more than"):
        load_toml_file(key_parts)


def _nested_list(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_latin1_profile_names_line_and_column(store: ProfileStore) -> None:
    _good_profiles(store)
    latin1 = store.path_for("latin1")
    latin1.write_bytes(b'host = "a"\nuser = "Jos\xe9"\n')
    assert str(store.load_all().errors[0]) == (
        f"{latin1}:2: not UTF-8 text: byte 0xe9 at column 12 (was it saved as Latin-1?); "
        "save the file as UTF-8"
    )


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_a_fifo_or_deep_settings_file_is_one_issue(tmp_path: Path) -> None:
    settings = tmp_path / "settings.toml"
    os.mkfifo(settings)
    with pytest.raises(SettingsLoadError) as caught:
        load_settings(settings)
    assert [str(issue) for issue in caught.value.issues] == [
        f"{settings}: is a FIFO (named pipe), not a regular file; replace it with a file"
    ]
    settings.unlink()
    settings.write_text(DEEP_FILES["arrays"])
    with pytest.raises(SettingsLoadError) as caught:
        load_settings(settings)
    [issue] = caught.value.issues
    assert issue.message == "line 1: arrays or tables nested more than 32 deep; flatten the file"


@pytest.mark.timeout(FIFO_TIMEOUT)
def test_bad_theme_files_are_named_and_the_good_ones_load(tmp_path: Path) -> None:
    user = tmp_path / "themes"
    user.mkdir()
    shutil.copy(paths.builtin_themes_dir() / "nord.toml", user / "mine.toml")
    os.mkfifo(user / "pipe.toml")
    (user / "deep.toml").write_text(DEEP_FILES["inline tables"])
    with (user / "huge.toml").open("wb") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)
    catalog = load_themes(paths.builtin_themes_dir(), user)
    assert "mine" in catalog.themes
    reasons = {issue.source.name: issue.message for issue in catalog.issues}
    assert set(reasons) == {"pipe.toml", "deep.toml", "huge.toml"}
    assert reasons["pipe.toml"].startswith("is a FIFO (named pipe)")
    assert reasons["deep.toml"].startswith("line 1: arrays or tables nested more than")
    assert reasons["huge.toml"].startswith(f"is {MAX_CONFIG_BYTES + 1:,} bytes")


@pytest.fixture
def umask_022() -> object:
    """The usual umask, under which Path.mkdir(parents=True) makes parents 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_022")
def test_every_directory_termkeep_creates_is_0700_parents_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    config = shared / "a" / "b" / "config"
    monkeypatch.setenv("TERMKEEP_CONFIG_DIR", str(config))
    ProfileStore().save(Profile(name="web", host="web.example.org"))
    made = [shared / "a", shared / "a" / "b", config, config / "hosts"]
    assert {str(path): _mode(path) for path in made} == {str(path): 0o700 for path in made}
    assert _mode(shared) == 0o755  # it was there before: never chmodded


@pytest.mark.usefixtures("umask_022")
def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    existing = tmp_path / "open"
    existing.mkdir()
    existing.chmod(0o751)
    ensure_private_dir(existing / "new" / "newer")
    assert _mode(existing) == 0o751
    assert _mode(existing / "new") == _mode(existing / "new" / "newer") == 0o700
    ensure_private_dir(existing / "new")  # again: nothing to make, nothing changed
    assert _mode(existing / "new") == 0o700


def test_a_file_where_a_directory_belongs_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match=r"Not a directory|File exists"):
        ensure_private_dir(blocker / "sub")
