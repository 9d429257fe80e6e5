# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write and copy files (private to this collection): atomic writes, mtimes, and copies the cheapest way the
filesystem allows.

:func:`atomic_write` writes a file so that a reader (or a crash) sees the old content or the new, never a
part; :func:`set_mtime` stamps files with ``source_date_epoch`` for reproducible outputs.

On xfs and btrfs the copy is a reflink (``FICLONE``): no data moves, whatever the size, and the input's
blocks are shared copy-on-write, so writing to the copy never changes the input. Elsewhere the kernel copies
(``copy_file_range``, as ``cp`` does), with a plain read/write loop as the last resort.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import threading
from typing import BinaryIO, Literal, Optional, Tuple, Union

FICLONE: int = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_CHUNK: int = 64 << 20
_NOT_HERE: Tuple[int, ...] = (errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENOTTY, errno.EPERM,
                              errno.EBADF)


def _clone(src: BinaryIO, dst: BinaryIO) -> bool:
    try:
        fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        return True
    except OSError as exc:
        if exc.errno not in _NOT_HERE:
            raise
        return False


def reflink(source: str, dest: str) -> bool:
    """Make ``dest`` a reflink copy of ``source`` (no data moves); False, with ``dest`` empty, where the
    filesystem cannot."""
    with open(source, "rb") as src, _open_empty(dest) as dst:
        return _clone(src, dst)


def _open_empty(dest: str) -> BinaryIO:
    """``dest`` opened for writing, created or emptied - emptied only if it has bytes: on ext4, truncating a
    file (even an empty one, such as a fresh temp file) makes its close() flush every byte written since
    ("auto_da_alloc"), which costs a fast-path copy as much as the copy itself."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        if os.fstat(fd).st_size:
            os.ftruncate(fd, 0)
    except BaseException:
        os.close(fd)
        raise
    return open(fd, "wb")


def clone_or_copy(source: str, dest: str, length: Optional[int] = None, cancel: Optional[threading.Event] = None
                  ) -> Literal["reflink", "copy"]:
    """Copy ``source`` (its first ``length`` bytes, default all) to ``dest`` (created or emptied); return
    ``"reflink"`` or ``"copy"``. ``cancel`` (a threading.Event) stops a copy between 64 MiB chunks."""
    with open(source, "rb") as src, _open_empty(dest) as dst:
        size = os.fstat(src.fileno()).st_size
        if _clone(src, dst):
            if length is not None:
                os.ftruncate(dst.fileno(), length)  # shorter: dropped; longer: a hole, as a copy leaves it
            return "reflink"
        end = size if length is None else min(size, length)
        copied = 0
        try:
            while copied < end:
                if cancel is not None and cancel.is_set():
                    raise InterruptedError("copy of %s cancelled" % source)
                count = os.copy_file_range(src.fileno(), dst.fileno(), min(_CHUNK, end - copied))
                if count == 0:
                    break
                copied += count
        except OSError as exc:
            if isinstance(exc, InterruptedError) or exc.errno not in _NOT_HERE or copied:
                raise
            src.seek(0)
            while copied < end:
                if cancel is not None and cancel.is_set():
                    raise InterruptedError("copy of %s cancelled" % source)
                block = src.read(min(1 << 20, end - copied))
                if not block:
                    break
                dst.write(block)
                copied += len(block)
        if length is not None and length > copied:
            dst.truncate(length)
    return "copy"


def copy_range(path: str, size: int, out: int, offset: int) -> None:
    """Copy the first ``size`` bytes of the file ``path`` into the open file descriptor ``out`` at ``offset``:
    in the kernel where it can (``copy_file_range``; the same filesystem), else read and written here."""
    with open(path, "rb", buffering=0) as source:
        written = 0
        try:
            while written < size:
                count = os.copy_file_range(source.fileno(), out, size - written, written, offset + written)
                if not count:
                    break
                written += count
        except OSError as exc:
            if exc.errno not in _NOT_HERE or written:
                raise
        while written < size:
            block = os.pread(source.fileno(), min(1 << 20, size - written), written)
            if not block:
                raise OSError("%s ended early, at byte %d of %d" % (path, written, size))
            os.pwrite(out, block, offset + written)
            written += len(block)


def atomic_write(path: str, data: Union[bytes, str], mode: int = 0o644, owner: Optional[Tuple[int, int]] = None,
                 fsync: bool = True) -> None:
    """Replace ``path`` with ``data`` (str: UTF-8) in one step: a temp file in the same directory, written,
    given ``mode`` (and ``owner`` (uid, gid)), synced to disk (``fsync``), then renamed over ``path``.

    A reader sees the old file or the new one, never a part; a crash leaves the old one (or, without
    ``fsync``, possibly an empty new one: use ``fsync=False`` only for files of a work copy that is thrown
    away on failure). A symlink at ``path`` is replaced, not followed; the temp file is removed on failure.
    """
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if owner is not None:
                os.fchown(handle.fileno(), owner[0], owner[1])
            os.fchmod(handle.fileno(), mode)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise


def set_mtime(path: str, epoch: Optional[int]) -> None:
    """Set the access and modification times of ``path`` to ``epoch`` (seconds); None leaves them."""
    if epoch is not None:
        os.utime(path, (epoch, epoch))
