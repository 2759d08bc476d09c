"""The local end's digest of a download's partial file, extended as its bytes become final."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from termkeep.transfers.local import HASH_CHUNK, PrefixDigest


def test_a_prefix_digest_extended_in_pieces_is_the_whole_files(tmp_path: Path) -> None:
    data = os.urandom(3 * HASH_CHUNK + 17)
    path = tmp_path / "part"
    path.write_bytes(data)
    digest = PrefixDigest()
    fd = os.open(path, os.O_RDONLY)
    try:
        for upto in (5, HASH_CHUNK + 3, HASH_CHUNK + 3, 2 * HASH_CHUNK, len(data)):
            digest.extend(fd, upto)
            assert digest.offset == upto
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # pread: the descriptor's offset untouched
    finally:
        os.close(fd)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_file_shorter_than_asked_says_so_and_keeps_what_it_hashed(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"x" * 100)
    digest = PrefixDigest()
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(EOFError, match="ends at 100, before 150"):
            digest.extend(fd, 150)
    finally:
        os.close(fd)
    assert digest.offset == 100
    assert digest.hexdigest() == hashlib.sha256(b"x" * 100).hexdigest()
