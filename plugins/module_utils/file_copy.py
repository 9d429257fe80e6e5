# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy a file the cheapest way the filesystem allows (private to this collection).

On xfs and btrfs the copy is a reflink (``FICLONE``): no data moves, whatever the size, and the input's
blocks are shared copy-on-write, so writing to the copy never changes the input. Elsewhere the kernel copies
(``copy_file_range``, as ``cp`` does), with a plain read/write loop as the last resort.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import struct

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_NOT_HERE = (errno.EXDEV, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENOTTY, errno.EPERM, errno.EBADF)


def clone_or_copy(source, dest):
    """Copy ``source`` to ``dest`` (created or truncated); return ``"reflink"`` or ``"copy"``."""
    with open(source, "rb") as src, open(dest, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return "reflink"
        except OSError as exc:
            if exc.errno not in _NOT_HERE:
                raise
        size = os.fstat(src.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                count = os.copy_file_range(src.fileno(), dst.fileno(), size - copied)
                if count == 0:
                    break
                copied += count
        except OSError as exc:
            if exc.errno not in _NOT_HERE or copied:
                raise
            src.seek(0)
            shutil.copyfileobj(src, dst, 1 << 20)
    return "copy"


# ---------------------------------------------------------------- which bytes of a reflink copy are still shared

FS_IOC_FIEMAP = 0xC020660B
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
# extents whose physical address does not stand for the bytes as stored (or not yet stored)
_UNRELIABLE = (0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800)
_HEADER = struct.Struct("=QQIIII")
_EXTENT = struct.Struct("=QQQQQIIII")
_BATCH = 256


def extents(path, sync=False):
    """[(logical, physical, length)] of ``path``'s reliable extents (FIEMAP), or None if unsupported."""
    found = []
    start = 0
    with open(path, "rb") as handle:
        while True:
            buffer = bytearray(_HEADER.size + _EXTENT.size * _BATCH)
            _HEADER.pack_into(buffer, 0, start, (1 << 64) - 1 - start, FIEMAP_FLAG_SYNC if sync else 0, 0, _BATCH, 0)
            try:
                fcntl.ioctl(handle.fileno(), FS_IOC_FIEMAP, buffer)
            except OSError:
                return None
            mapped = _HEADER.unpack_from(buffer, 0)[3]
            if not mapped:
                return found
            last = None
            for index in range(mapped):
                logical, physical, length, _r1, _r2, flags = _EXTENT.unpack_from(
                    buffer, _HEADER.size + index * _EXTENT.size)[:6]
                if not flags & _UNRELIABLE:
                    found.append((logical, physical, length))
                last = (logical, length, flags)
            if last[2] & FIEMAP_EXTENT_LAST:
                return found
            start = last[0] + last[1]


def shared_ranges(copy, original):
    """[(start, end)] byte ranges where ``copy`` still uses the very blocks of ``original`` at the same offsets.

    Those bytes are identical in both files (a reflink copy shares blocks until one side writes them; a write
    moves the writer to new blocks). ``copy`` is synced first so its new data has its final blocks.
    """
    mine, theirs = extents(copy, sync=True), extents(original)
    if not mine or not theirs:
        return []
    limit = min(os.path.getsize(copy), os.path.getsize(original))
    ranges = []
    i = j = 0
    while i < len(mine) and j < len(theirs):
        a_log, a_phys, a_len = mine[i]
        b_log, b_phys, b_len = theirs[j]
        start, end = max(a_log, b_log), min(a_log + a_len, b_log + b_len, limit)
        if start < end and a_phys - a_log == b_phys - b_log:
            if ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        if a_log + a_len <= b_log + b_len:
            i += 1
        else:
            j += 1
    return ranges
