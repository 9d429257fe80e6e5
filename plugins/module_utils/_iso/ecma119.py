# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ISO 9660 (ECMA-119) byte layout: blocks, the System Area, volume descriptors of a grown ISO, and the head
that a grown ISO rewrites (private to this collection).
"""

from __future__ import annotations

import struct

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError

_VD_PRIMARY, _VD_SUPPLEMENTARY, _VD_TERMINATOR = 1, 2, 255
SYSTEM_AREA_BYTES = 32768


BLOCK = 2048


HEAD_BYTES = 65536  # System Area (16 blocks) + the volume descriptor area a grown ISO rewrites (16 blocks)


def _descriptor(block, iso):
    if block[1:6] != b"CD001":
        raise ImageError("%s has no ISO 9660 volume descriptor where one belongs." % iso,
                         "Check that the file is a complete ISO image.")
    return block[0]


def next_writable_block(iso):
    """The block where xorriso appends the next session to ``iso``: the end of its newest session (the
    volume size in the primary volume descriptor), rounded up to 32 blocks, as libisoburn does when it grows
    an ISO image in a file."""
    with open(iso, "rb") as handle:
        handle.seek(16 * BLOCK)
        pvd = handle.read(BLOCK)
    if len(pvd) < BLOCK or _descriptor(pvd, iso) != _VD_PRIMARY:
        raise ImageError("%s has no ISO 9660 primary volume descriptor." % iso,
                         "Check that the file is a complete ISO image.")
    return append_block(struct.unpack_from("<I", pvd, 80)[0])


def append_block(volume_blocks):
    """Where libisoburn appends a session to an ISO of ``volume_blocks``: rounded up to 32 blocks."""
    return -(-volume_blocks // 32) * 32


def grown_head(input_head, session, grow_at):
    """The first 64 KiB of an ISO grown by ``session`` (written with ``grow_at``), from ``input_head`` (the
    input's first 64 KiB): the input's System Area, the session's volume descriptors up to their terminator
    with the volume size counted from the start of the ISO, then the input's bytes again. That is what
    libisoburn writes to the start of an ISO it grows in place (tests compare the two byte for byte).
    """
    if len(input_head) != HEAD_BYTES:
        raise ImageError("the ISO to grow is shorter than %d bytes." % HEAD_BYTES)
    with open(session, "rb") as handle:
        handle.seek(SYSTEM_AREA_BYTES)
        descriptors = bytearray(handle.read(HEAD_BYTES - SYSTEM_AREA_BYTES))
    if len(descriptors) != HEAD_BYTES - SYSTEM_AREA_BYTES:
        raise ImageError("xorriso wrote a session of %s without its volume descriptors." % session)
    for offset in range(0, len(descriptors), BLOCK):
        kind = _descriptor(descriptors[offset:offset + BLOCK], session)
        if kind in (_VD_PRIMARY, _VD_SUPPLEMENTARY):
            blocks = grow_at + struct.unpack_from("<I", descriptors, offset + 80)[0]
            struct.pack_into("<I", descriptors, offset + 80, blocks)
            struct.pack_into(">I", descriptors, offset + 84, blocks)
        elif kind == _VD_TERMINATOR:
            end = SYSTEM_AREA_BYTES + offset + BLOCK
            return b"".join((bytes(input_head[:SYSTEM_AREA_BYTES]), bytes(descriptors[:offset + BLOCK]),
                             bytes(input_head[end:])))
    raise ImageError("xorriso wrote a session of %s without a volume descriptor terminator." % session)
