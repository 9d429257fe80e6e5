# SPDX-License-Identifier: GPL-3.0-or-later
"""file_copy.py: reflink where the filesystem shares blocks, an in-kernel copy elsewhere, same bytes always."""

import errno
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core import files as file_copy


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    return str(path)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("size", [0, 1, 4096, (5 << 20) + 7])
def test_copy_same_bytes(tmp_path, size):
    data = os.urandom(size)
    source = write(tmp_path / "in", data)
    how = file_copy.clone_or_copy(source, str(tmp_path / "out"))
    assert how in ("reflink", "copy")
    assert read(tmp_path / "out") == data
    assert read(source) == data


def test_copy_truncates_existing_dest(tmp_path):
    source = write(tmp_path / "in", b"short")
    dest = write(tmp_path / "out", b"a much longer previous content")
    file_copy.clone_or_copy(source, dest)
    assert read(dest) == b"short"


def test_falls_back_without_clone_or_copy_file_range(tmp_path, monkeypatch):
    def refuse(*args):
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(file_copy.fcntl, "ioctl", refuse)
    monkeypatch.setattr(file_copy.os, "copy_file_range", refuse)
    data = os.urandom(3 << 20)
    assert file_copy.clone_or_copy(write(tmp_path / "in", data), str(tmp_path / "out")) == "copy"
    assert read(tmp_path / "out") == data


def test_other_errors_are_raised(tmp_path, monkeypatch):
    def broken(*args):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(file_copy.fcntl, "ioctl", broken)
    with pytest.raises(OSError) as info:
        file_copy.clone_or_copy(write(tmp_path / "in", b"x"), str(tmp_path / "out"))
    assert info.value.errno == errno.EIO


def test_writing_the_copy_leaves_the_source_alone(tmp_path):
    source = write(tmp_path / "in", b"A" * 100000)
    dest = str(tmp_path / "out")
    file_copy.clone_or_copy(source, dest)
    with open(dest, "r+b") as handle:
        handle.seek(50000)
        handle.write(b"B" * 10)
    assert read(source) == b"A" * 100000


@pytest.mark.parametrize("length", [0, 4096, 100000, 300000])
def test_copy_of_a_length(tmp_path, length):
    """length shorter than the source: its first bytes; longer: the source, then zeros (a hole)."""
    data = os.urandom(200000)
    dest = str(tmp_path / "out")
    file_copy.clone_or_copy(write(tmp_path / "in", data), dest, length=length)
    assert read(dest) == (data + bytes(max(0, length - len(data))))[:length]


def test_copy_of_a_length_without_reflink(tmp_path, monkeypatch):
    def refuse(*args):
        raise OSError(errno.EOPNOTSUPP, "no reflinks here")

    monkeypatch.setattr(file_copy.fcntl, "ioctl", refuse)
    data = os.urandom(200000)
    dest = str(tmp_path / "out")
    assert file_copy.clone_or_copy(write(tmp_path / "in", data), dest, length=150000) == "copy"
    assert read(dest) == data[:150000]
    assert file_copy.clone_or_copy(str(tmp_path / "in"), dest, length=250000) == "copy"
    assert read(dest) == data + bytes(50000)


def test_cancelled_copy_stops(tmp_path, monkeypatch):
    import threading

    def refuse(*args):
        raise OSError(errno.EOPNOTSUPP, "no reflinks here")

    monkeypatch.setattr(file_copy.fcntl, "ioctl", refuse)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(InterruptedError):
        file_copy.clone_or_copy(write(tmp_path / "in", b"x" * 1000), str(tmp_path / "out"), cancel=cancel)


@pytest.mark.parametrize("start,end", [(0, None), (0, 0), (5, 70000), (65536, 1 << 20), (0, (1 << 20) + 12345),
                                       ((1 << 20) + 10, (1 << 20) + 20)])
def test_hash_range(tmp_path, start, end):
    """hash_range feeds exactly bytes [start, end), zeros past the end of the file, as the copy would hold."""
    import hashlib

    from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import hash_range, sha256_file
    data = os.urandom(1 << 20)
    path = write(tmp_path / "f", data)
    want = (data + bytes(max(0, (end or 0) - len(data))))[start:end]
    assert hash_range(hashlib.sha256(), path, start, end).hexdigest() == hashlib.sha256(want).hexdigest()
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("before", [None, b"", b"older and longer content " * 1000])
def test_clone_or_copy_into_existing_destination(tmp_path, before):
    """A fresh temp file (empty) or an older file as destination: the result is exactly the source; an empty
    one is not truncated (on ext4 that would make close() flush the whole copy)."""
    source, dest = tmp_path / "src", tmp_path / "dst"
    source.write_bytes(b"new" * 5000)
    if before is not None:
        dest.write_bytes(before)
    assert file_copy.clone_or_copy(str(source), str(dest)) in ("copy", "reflink")
    assert dest.read_bytes() == source.read_bytes()
    assert file_copy.clone_or_copy(str(source), str(dest), length=10) in ("copy", "reflink")
    assert dest.read_bytes() == b"newnewnewn"


# ---------------------------------------------------------------- atomic_write, set_mtime

def test_atomic_write_text_and_bytes(tmp_path):
    target = tmp_path / "out.txt"
    file_copy.atomic_write(str(target), "héllo\n")
    assert target.read_bytes() == "héllo\n".encode() and os.stat(str(target)).st_mode & 0o7777 == 0o644
    file_copy.atomic_write(str(target), b"\x00\x01", mode=0o600, fsync=False)
    assert target.read_bytes() == b"\x00\x01" and os.stat(str(target)).st_mode & 0o7777 == 0o600
    assert os.listdir(str(tmp_path)) == ["out.txt"]  # no temp file left


def test_atomic_write_replaces_a_symlink_not_its_target(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(victim)
    file_copy.atomic_write(str(link), "new")
    assert not link.is_symlink() and link.read_text() == "new" and victim.read_text() == "keep"


def test_atomic_write_owner(tmp_path):
    target = tmp_path / "owned"
    st = os.stat(str(tmp_path))
    file_copy.atomic_write(str(target), "x", owner=(os.getuid(), st.st_gid))
    assert (os.stat(str(target)).st_uid, os.stat(str(target)).st_gid) == (os.getuid(), st.st_gid)


def test_atomic_write_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        file_copy.atomic_write(str(tmp_path / "dir"), "x")  # a directory in the way
    assert os.listdir(str(tmp_path)) == ["dir"]
    with pytest.raises(FileNotFoundError):
        file_copy.atomic_write(str(tmp_path / "missing" / "x"), "x")


def test_set_mtime(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    file_copy.set_mtime(str(path), 1700000000)
    assert os.stat(str(path)).st_mtime == 1700000000 and os.stat(str(path)).st_atime == 1700000000
    file_copy.set_mtime(str(path), None)  # no epoch: left as it is
    assert os.stat(str(path)).st_mtime == 1700000000
