# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Live ISO grown into a new file: the per-site fast path's bytes (private to this collection).

An ISO grown by one session is, byte for byte::

    [ head: 64 KiB ]  [ the input, from 64 KiB to the append block ]  [ the new session ]
      built here        copied (reflink or in-kernel copy)               written here, or by xorriso

where the head is the input's System Area (MBR, GPT, boot code), the new session's volume descriptors, and
the input's bytes after them. The kernel copies the input in a thread (on xfs/btrfs: a reflink, free) while
the new session is made and the output's sha256 is computed from the parts (the input's from the page
cache) rather than by reading the whole output back; then head and session go into the copy.

The session is written by :mod:`iso_session` for ISOs of the shape this collection makes (two fixed 100 ms
polls inside every xorriso write were most of a site's cost). For any other shape xorriso writes it: on a
filesystem with reflinks it grows the clone in place; elsewhere it writes only the new session, to a small
file of its own ("blind growing": addressed as if it sat at the append block of the input).
``tests/unit/plugins/module_utils/_iso/test_iso_media.py`` checks that the xorriso route gives the ISO ``xorriso -dev`` makes when it
grows a copy of the input in place, and that strict readers (xorriso, pycdlib) see in the session written here
what xorriso would have written.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from enum import Enum
from typing import List, Optional, Protocol, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import clone_or_copy, copy_range, reflink
from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import hash_range
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import ecma119
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import partition_tables
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso as iso_media

Mappings = iso_media.Mappings  # [(host path, media path)]
Grown = Tuple[str, Optional[str], str]  # ("reflink" or "copy", sha256 or None, who wrote the session)


class SessionWriter(str, Enum):
    """Who writes the new session of :func:`grow` (``writer=``; the plain strings are accepted as well)."""

    AUTO = "auto"
    """The session writer here (:mod:`.session`) where the ISO and the changes have the shape it writes, else
    xorriso; the third value :func:`grow` returns says which (with xorriso: why)."""
    HERE = "here"
    """The session writer here, or nothing: an ISO or a change it does not write raises
    :class:`.session.Unsupported` (an :class:`ImageError` whose message names the shape) instead of falling
    back to xorriso. For tests and benchmarks, and to make sure no xorriso write is paid for."""
    XORRISO = "xorriso"
    """xorriso, without trying the writer here (the ISO is not even read by it)."""


def session_writer(writer: Union[SessionWriter, str]) -> SessionWriter:
    """``writer`` as a :class:`SessionWriter`; ``ValueError`` naming the accepted values for another string."""
    try:
        return SessionWriter(writer)
    except ValueError:
        raise ValueError("writer must be one of %s, not %r" % (", ".join(w.value for w in SessionWriter), writer)) \
            from None


class _Remaster(Protocol):
    """:func:`.xorriso.remaster` with every argument bound but the devices and ``grow_at``."""

    def __call__(self, indev: str, outdev: str, *, grow_at: Optional[int] = None) -> None:
        ...


class _Copier(threading.Thread):
    """clone_or_copy in a thread; its result or error is picked up by :meth:`finish`. With ``sync`` the copy is
    then written to disk (fdatasync) in the same thread, while the caller still hashes: the build's final
    fsync of the output then has only the head and the new session left to write."""

    def __init__(self, source: str, dest: str, length: int, sync: bool = False) -> None:
        super().__init__(name="copy-input", daemon=True)
        self.source, self.dest, self.length, self.sync = source, dest, length, sync
        self.cancel = threading.Event()
        self.how = ""  # "reflink" or "copy", once done
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self.how = clone_or_copy(
                self.source, self.dest, length=self.length, cancel=self.cancel)
            if self.sync and not self.cancel.is_set():
                with open(self.dest, "rb") as handle:
                    os.fdatasync(handle.fileno())
        except BaseException as exc:  # re-raised in the calling thread
            self.error = exc

    def finish(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.how

    def stop(self) -> None:
        self.cancel.set()
        self.join()


def grow(source: str, dest: str, session: str, label: str, mappings: Mappings,
         source_date_epoch: Optional[int] = None, checksum: bool = True,
         writer: Union[SessionWriter, str] = SessionWriter.AUTO) -> Grown:
    """Write ``dest`` as ``source`` grown by ``mappings`` [(host path, media path)]; ``session`` is a work
    file for xorriso. Returns (``"reflink"`` or ``"copy"``, sha256 of ``dest`` or None, who wrote the session:
    ``"here"`` or ``"xorriso: <why>"``).

    ``writer`` (a :class:`SessionWriter` or its value) says who writes the session. With ``"auto"`` (the
    default) it is written here (:mod:`iso_session`) when the ISO's trees have the shape this collection's ISOs
    have, otherwise by xorriso; with ``"xorriso"`` by xorriso. With ``"here"`` nothing falls back: a shape the
    writer here does not write raises :class:`iso_session.Unsupported`, an :class:`ImageError` whose message
    says which (the same words ``"auto"`` returns after ``"xorriso: "``). Another value: ``ValueError``. The
    input's System Area (MBR, GPT, boot code) is kept either way, every block it points at unchanged, with the
    MBR and GPT fitted to the grown size (:mod:`.partition_tables`: the backup GPT at the new end).
    """
    chosen, why = session_writer(writer), "asked for"
    if chosen is not SessionWriter.XORRISO:
        try:
            planned = iso_session.Session(source, label, mappings, source_date_epoch)
        except iso_session.Unsupported as exc:
            if chosen is SessionWriter.HERE:
                raise
            why = str(exc)
        else:
            how, sha256 = _write_session(source, dest, planned, checksum)
            return how, sha256, "here"
    how, sha256 = _grow_with_xorriso(source, dest, session, label, mappings, source_date_epoch, checksum)
    return how, sha256, "xorriso: " + why


def _write_session(source: str, dest: str, planned: iso_session.Session,
                   checksum: bool) -> Tuple[str, Optional[str]]:
    """The kernel copies (or clones) the input in a thread while the output is hashed from its parts; then the
    new volume descriptors and the session go into the copy."""
    append_at = planned.start * ecma119.BLOCK
    # the MBR and GPT fitted to the grown size; the backup GPT goes into the session's padding, at the end
    head, tail = partition_tables.fit(planned.head(), os.path.getsize(source), planned.end)
    pieces: List[iso_session.Piece] = sorted(planned.pieces + list(tail), key=lambda piece: piece[0])
    copier = _Copier(source, dest, append_at, sync=checksum)
    copier.start()
    try:
        sha256 = None
        if checksum:
            digest = hashlib.sha256(head)
            hash_range(
                digest, source, ecma119.HEAD_BYTES, append_at)
            position = append_at
            for offset, piece in pieces:
                digest.update(bytes(offset - position))
                if isinstance(piece, bytes):
                    digest.update(piece)
                    position = offset + len(piece)
                else:
                    hash_range(
                        digest, piece[0], 0, piece[1])
                    position = offset + piece[1]
            digest.update(bytes(planned.end - position))  # the padding
            sha256 = digest.hexdigest()
        how = copier.finish()
    except BaseException:
        copier.stop()
        raise
    with open(dest, "r+b", buffering=0) as out:
        os.pwrite(out.fileno(), head, 0)
        for offset, piece in pieces:
            if isinstance(piece, bytes):
                os.pwrite(out.fileno(), piece, offset)
            else:
                copy_range(
                    piece[0], piece[1], out.fileno(), offset)
        os.ftruncate(out.fileno(), planned.end)
    return how, sha256


def _grow_with_xorriso(source: str, dest: str, session: str, label: str, mappings: Mappings,
                       source_date_epoch: Optional[int], checksum: bool) -> Tuple[str, Optional[str]]:
    """Where reflinks work, xorriso grows the clone in place (``-dev``); elsewhere it writes the new session
    beside the copy."""
    append_at = ecma119.next_writable_block(source) * ecma119.BLOCK
    # the System Area file tells xorriso to keep the input's, not to make a GPT anew
    xorriso = functools.partial(iso_media.remaster, label=label, mappings=mappings,
                                source_date_epoch=source_date_epoch,
                                system_area=iso_media.save_system_area(source, session + ".system-area"))
    if reflink(source, dest):
        xorriso(dest, dest)
        partition_tables.fit_file(dest, os.path.getsize(source))
        if not checksum:
            return "reflink", None
        # xorriso rewrote the head and appended from the append block; in between the copy is the input,
        # whose pages are in the cache (the copy's blocks are shared, but its inode has no cached pages)
        digest = hashlib.sha256()
        hash_range(digest, dest, 0, ecma119.HEAD_BYTES)
        hash_range(
            digest, source, ecma119.HEAD_BYTES, append_at)
        hash_range(digest, dest, append_at)
        return "reflink", digest.hexdigest()
    return "copy", _grow_beside_copy(source, dest, session, append_at, xorriso, checksum)


def _grow_beside_copy(source: str, dest: str, session: str, append_at: int, xorriso: _Remaster,
                      checksum: bool) -> Optional[str]:
    """The kernel copies the input in a thread while ``xorriso`` writes the new session to ``session`` and the
    output is hashed from its parts; then the head and the session go into the copy."""
    grow_at = append_at // ecma119.BLOCK
    with open(source, "rb") as handle:
        input_head = handle.read(ecma119.HEAD_BYTES)
    copier = _Copier(source, dest, append_at)
    copier.start()
    try:
        xorriso(source, session, grow_at=grow_at)
        head = ecma119.grown_head(input_head, session, grow_at)
        head, tail = partition_tables.fit(head, os.path.getsize(source), append_at + os.path.getsize(session))
        with open(session, "r+b") as handle:  # the backup GPT lies in the session's padding
            for offset, data in tail:
                os.pwrite(handle.fileno(), data, offset - append_at)
        sha256 = None
        if checksum:
            digest = hashlib.sha256(head)
            hash_range(
                digest, source, ecma119.HEAD_BYTES, append_at)
            hash_range(digest, session)
            sha256 = digest.hexdigest()
        copier.finish()
    except BaseException:
        copier.stop()
        raise
    with open(dest, "r+b", buffering=0) as out:
        os.ftruncate(out.fileno(), append_at)
        os.pwrite(out.fileno(), head, 0)
        copy_range(
            session, os.path.getsize(session), out.fileno(), append_at)
    return sha256
