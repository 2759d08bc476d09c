"""Remote names become safe local names; "keep both" names; the partial file's name."""

from __future__ import annotations

import os

import pytest

from termkeep.transfers.names import (
    NAME_MAX,
    PART_SUFFIX,
    UnsafeNameError,
    numbered,
    part_name,
    safe_local_name,
)


@pytest.mark.parametrize(
    ("remote", "local"),
    [
        ("report.pdf", "report.pdf"),
        (".bashrc", ".bashrc"),
        ("a b (2).txt", "a b (2).txt"),
        ("../../etc/passwd", "___.._etc_passwd"),
        ("..", None),
        (".", None),
        ("", None),
        ("...", "___"),
        ("..hidden", "__hidden"),
        ("dir/name", "dir_name"),
        ("/abs", "_abs"),
        ("line\nbreak", "line_break"),
        ("bell\x07and\x1b[2Jclear", "bell_and_[2Jclear"),
        ("del\x7f", "del_"),
        ("c1\x9b31m", "c1_31m"),
        ("gpj\u202eexe.txt", "gpj_exe.txt"),
        ("nul\x00byte", "nul_byte"),
        ("caf\u00e9", "caf\u00e9"),
        (os.fsdecode(b"latin\xe9"), os.fsdecode(b"latin\xe9")),
    ],
)
def test_remote_names_become_one_safe_local_name(remote: str, local: str | None) -> None:
    if local is None:
        with pytest.raises(UnsafeNameError):
            safe_local_name(remote)
        return
    result = safe_local_name(remote)
    assert result == local
    assert "/" not in result
    assert result not in {".", ".."}
    assert not result.startswith("..")


def test_a_long_name_is_cut_so_its_partial_name_fits_keeping_the_extension() -> None:
    name = "\u00e9" * 300 + ".tar.gz"  # two bytes a character
    local = safe_local_name(name)
    assert local.endswith(".tar.gz")
    assert len(os.fsencode(part_name(local))) <= NAME_MAX
    assert local.startswith("\u00e9")


@pytest.mark.parametrize(
    ("name", "keep_both"),
    [
        ("photo.jpg", "photo (1).jpg"),
        ("backup.tar.gz", "backup (1).tar.gz"),
        (".bashrc", ".bashrc (1)"),
        ("Makefile", "Makefile (1)"),
    ],
)
def test_keep_both_names_number_before_the_extension(name: str, keep_both: str) -> None:
    assert numbered(name, 1) == keep_both


def test_the_partial_name_carries_the_suffix() -> None:
    assert part_name("a.txt") == "a.txt" + PART_SUFFIX
