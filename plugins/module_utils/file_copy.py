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
