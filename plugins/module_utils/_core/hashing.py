# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""File hashing (private to this collection): sha256 of files and ranges of files, and of directory trees."""

from __future__ import annotations

import hashlib
import os
from typing import List, Optional, Protocol, TypeVar, Union

CHUNK: int = 4 << 20


class Digest(Protocol):
    """What :func:`hash_range` feeds: a hashlib object."""

    def update(self, data: Union[bytes, memoryview], /) -> None:
        ...


D = TypeVar("D", bound=Digest)


def hash_range(digest: D, path: str, start: int = 0, end: Optional[int] = None) -> D:
    """Feed ``path``'s bytes [start, end) into ``digest`` (a hashlib object); past the file's end, zeros (as
    a hole reads). Read, not mapped: a file that shrinks under us ends early instead of raising SIGBUS."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        end = size if end is None else end
        position = start
        handle.seek(start)
        while position < min(end, size):
            count = handle.readinto(view[:min(CHUNK, min(end, size) - position)])
            if not count:
                raise OSError("%s ended early, at byte %d" % (path, position))
            digest.update(view[:count])
            position += count
    while position < end:
        count = min(CHUNK, end - position)
        digest.update(bytes(count))
        position += count
    return digest


def sha256_file(path: str) -> str:
    """sha256 of ``path`` (hex)."""
    return hash_range(hashlib.sha256(), path).hexdigest()


def file_identity(path: str) -> List[int]:
    """What tells a file apart from a changed one without reading it: [size, mtime_ns, inode, device]."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def tree_digest(path: str) -> str:
    """Digest of a file, or of a directory tree (names, modes, link targets, contents)."""
    if os.path.isfile(path):
        return sha256_file(path)
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(path):
        dirs.sort()
        rel_base = os.path.relpath(base, path)
        digest.update(("dir\0%s\0%o\0" % (rel_base, os.lstat(base).st_mode)).encode())
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, path)
            st = os.lstat(full)
            digest.update(("%s\0%o\0" % (rel, st.st_mode)).encode())
            digest.update((os.readlink(full) if os.path.islink(full) else sha256_file(full)).encode())
    return digest.hexdigest()
