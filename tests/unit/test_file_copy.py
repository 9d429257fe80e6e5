"""file_copy.py: reflink where the filesystem shares blocks, an in-kernel copy elsewhere, same bytes always."""

import errno
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils import file_copy


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


def test_sha256_with_shared_ranges_reads_the_twin(tmp_path):
    """Ranges declared shared are read from the other file: equal bytes give the plain sha256."""
    import hashlib
    from ansible_collections.liveiso.customizer.plugins.module_utils.digest import sha256_file
    base = os.urandom(3 << 20)
    copy = bytearray(base) + os.urandom(12345)
    copy[40000:40010] = b"X" * 10
    write(tmp_path / "base", base)
    write(tmp_path / "copy", bytes(copy))
    ranges = [(0, 40000), (40010, 3 << 20)]
    expected = hashlib.sha256(bytes(copy)).hexdigest()
    assert sha256_file(str(tmp_path / "copy"), (str(tmp_path / "base"), ranges)) == expected
    assert sha256_file(str(tmp_path / "copy")) == expected
    # a wrongly declared range shows (the test can fail): the base's bytes are used there
    assert sha256_file(str(tmp_path / "copy"), (str(tmp_path / "base"), [(0, 40010)])) != expected


def test_shared_ranges_of_a_real_copy_are_none(tmp_path):
    """Without reflinks (or where FIEMAP says nothing) nothing is taken from the original."""
    data = os.urandom(1 << 20)
    source = write(tmp_path / "in", data)
    dest = str(tmp_path / "out")
    how = file_copy.clone_or_copy(source, dest)
    ranges = file_copy.shared_ranges(dest, source)
    if how == "copy":
        assert ranges == []
    else:
        assert ranges == [(0, len(data))]
