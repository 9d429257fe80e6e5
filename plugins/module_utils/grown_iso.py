# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A Live ISO grown into a new file: the per-site fast path's bytes (private to this collection).

An ISO grown by one session is, byte for byte::

    [ head: 64 KiB ]  [ the input, from 64 KiB to the append block ]  [ the new session ]
      built here        copied (reflink or in-kernel copy)               written by xorriso

where the head is the input's System Area (MBR, GPT, boot code), the new session's volume descriptors, and
the input's bytes after them. On a filesystem with reflinks the copy is free and xorriso grows it in place.
Elsewhere xorriso writes only the new session, to a small file of its own ("blind growing": addressed as if
it sat at the append block of the input), so it runs while the kernel copies the input. Either way the sha256
of the output is computed from the three parts (the input's from the page cache) rather than by reading the
whole output back.
``tests/unit/test_iso_media.py`` checks that the result is the ISO ``xorriso -dev`` makes when it grows a copy
of the input in place.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading

from ansible_collections.liveiso.customizer.plugins.module_utils import iso_media
from ansible_collections.liveiso.customizer.plugins.module_utils.digest import hash_range
from ansible_collections.liveiso.customizer.plugins.module_utils.file_copy import clone_or_copy, reflink


class _Copier(threading.Thread):
    """clone_or_copy in a thread; its result or error is picked up by :meth:`finish`."""

    def __init__(self, source, dest, length):
        super().__init__(name="copy-input", daemon=True)
        self.source, self.dest, self.length = source, dest, length
        self.cancel = threading.Event()
        self.how, self.error = None, None

    def run(self):
        try:
            self.how = clone_or_copy(self.source, self.dest, length=self.length, cancel=self.cancel)
        except BaseException as exc:  # re-raised in the calling thread
            self.error = exc

    def finish(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.how

    def stop(self):
        self.cancel.set()
        self.join()


def grow(source, dest, session, label, mappings, source_date_epoch=None, checksum=True):
    """Write ``dest`` as ``source`` grown by ``mappings`` [(host path, media path)]; ``session`` is a work
    file for xorriso. Returns (``"reflink"`` or ``"copy"``, sha256 of ``dest`` or None).

    The input's System Area (MBR, GPT, boot code) is kept verbatim: every block it points at is unchanged.
    Where the filesystem has reflinks the copy costs nothing, and xorriso grows it in place (``-dev``: one
    of its 0.1 s polling waits fewer than blind growing); elsewhere the new session is written beside the copy.
    """
    append_at = iso_media.next_writable_block(source) * iso_media.BLOCK
    # the System Area file tells xorriso to keep the input's, not to make a GPT anew
    xorriso = functools.partial(iso_media.remaster, label=label, mappings=mappings,
                                source_date_epoch=source_date_epoch,
                                system_area=iso_media.save_system_area(source, session + ".system-area"))
    if reflink(source, dest):
        xorriso(dest, dest)
        if not checksum:
            return "reflink", None
        # xorriso rewrote the head and appended from the append block; in between the copy is the input,
        # whose pages are in the cache (the copy's blocks are shared, but its inode has no cached pages)
        digest = hashlib.sha256()
        hash_range(digest, dest, 0, iso_media.HEAD_BYTES)
        hash_range(digest, source, iso_media.HEAD_BYTES, append_at)
        hash_range(digest, dest, append_at)
        return "reflink", digest.hexdigest()
    return "copy", _grow_beside_copy(source, dest, session, append_at, xorriso, checksum)


def _grow_beside_copy(source, dest, session, append_at, xorriso, checksum):
    """The kernel copies the input in a thread while ``xorriso`` writes the new session to ``session`` and the
    output is hashed from its parts; then the head and the session go into the copy."""
    grow_at = append_at // iso_media.BLOCK
    with open(source, "rb") as handle:
        input_head = handle.read(iso_media.HEAD_BYTES)
    copier = _Copier(source, dest, append_at)
    copier.start()
    try:
        xorriso(source, session, grow_at=grow_at)
        head = iso_media.grown_head(input_head, session, grow_at)
        sha256 = None
        if checksum:
            digest = hashlib.sha256(head)
            hash_range(digest, source, iso_media.HEAD_BYTES, append_at)
            hash_range(digest, session)
            sha256 = digest.hexdigest()
        copier.finish()
    except BaseException:
        copier.stop()
        raise
    with open(dest, "r+b", buffering=0) as out, open(session, "rb", buffering=0) as tail:
        os.ftruncate(out.fileno(), append_at)
        os.pwrite(out.fileno(), head, 0)
        size = os.fstat(tail.fileno()).st_size
        written = 0
        while written < size:
            count = os.copy_file_range(tail.fileno(), out.fileno(), size - written, written, append_at + written)
            if not count:
                raise OSError("short copy of %s into %s" % (session, dest))
            written += count
    return sha256
