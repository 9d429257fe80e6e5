# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The MBR and GPT of a hybrid ISO, fitted to the ISO after it grew (private to this collection).

A hybrid ISO (xorriso's ``--protective-msdos-label`` + GPT, or an isohybrid MBR) describes itself as a disk:
the protective MBR entry and the GPT cover the whole image, the last GPT partition ("Gap1" in xorriso's
layout) covers the ISO 9660 data after the EFI image, and the backup GPT (entries + header) sits in the
image's last sectors. Growing the ISO by a session keeps the input's System Area verbatim, so all of these
still describe the input's size: ``fdisk -l`` warns ("GPT PMBR size mismatch", "The backup GPT table is not on
the end of the device") and a reader of the partition misses the new session.

:func:`fit` moves everything anchored at the image's end by the growth, as xorriso does when it writes a GPT:
the protective entry's size, the last usable LBA, the partitions that reached the old end, and the backup
GPT (returned as a write at the new end, inside the session's padding). Both CRCs are recomputed. Everything
else (the EFI partition, the boot code, the disk GUID) is kept byte for byte. An image without a partition
table, or with one this does not recognise, is returned unchanged.
"""

from __future__ import annotations

import struct
import zlib
from typing import List, NamedTuple, Optional, Tuple

SECTOR = 512
MBR_ENTRIES = 446  # offset of the four 16-byte MBR partition entries
MBR_PROTECTIVE = 0xEE
GPT_SIGNATURE = b"EFI PART"
_HEADER = struct.Struct("<8sIIIIQQQQ16sQIII")  # through the entry array's CRC: 92 bytes
_ENTRY_LAST_LBA = 40  # offsets in a GPT partition entry: first LBA at 32, last LBA at 40
MAX_MBR_SECTORS = 0xFFFFFFFF
# a partition "reaches the end" when it ends this close to the last usable LBA (xorriso leaves one sector)
END_SLACK_SECTORS = 64

Write = Tuple[int, bytes]  # (byte offset in the image, bytes)


class _Gpt(NamedTuple):
    header_size: int
    alternate: int
    first_usable: int
    last_usable: int
    entries_lba: int
    entry_count: int
    entry_size: int

    @property
    def entries_bytes(self) -> int:
        return self.entry_count * self.entry_size

    @property
    def entries_sectors(self) -> int:
        return -(-self.entries_bytes // SECTOR)


def _read_gpt(head: bytes) -> Optional[_Gpt]:
    """The primary GPT header at LBA 1 if it is valid (signature, CRC) and its entries lie in ``head``."""
    if len(head) < 2 * SECTOR or head[SECTOR:SECTOR + 8] != GPT_SIGNATURE:
        return None
    fields = _HEADER.unpack_from(head, SECTOR)
    header_size, crc, current, alternate, first_usable, last_usable = fields[2], fields[3], *fields[5:9]
    entries_lba, entry_count, entry_size = fields[10:13]
    if current != 1 or not _HEADER.size <= header_size <= SECTOR or entry_size < 128 or entry_count > 4096:
        return None
    header = bytearray(head[SECTOR:SECTOR + header_size])
    header[16:20] = bytes(4)
    if zlib.crc32(bytes(header)) != crc:
        return None
    gpt = _Gpt(header_size, alternate, first_usable, last_usable, entries_lba, entry_count, entry_size)
    if entries_lba < 2 or entries_lba * SECTOR + gpt.entries_bytes > len(head) or alternate <= last_usable:
        return None
    return gpt


def _header(head: bytes, gpt: _Gpt, current: int, alternate: int, last_usable: int, entries_lba: int,
            entries_crc: int) -> bytes:
    """A GPT header: the primary's fields (disk GUID, sizes), with these LBAs and CRCs."""
    header = bytearray(head[SECTOR:SECTOR + gpt.header_size])
    struct.pack_into("<I", header, 16, 0)  # the CRC is zero while it is computed
    struct.pack_into("<QQ", header, 24, current, alternate)
    struct.pack_into("<Q", header, 48, last_usable)
    struct.pack_into("<Q", header, 72, entries_lba)
    struct.pack_into("<I", header, 88, entries_crc)
    struct.pack_into("<I", header, 16, zlib.crc32(bytes(header)))
    return bytes(header) + bytes(SECTOR - gpt.header_size)


def _fit_mbr(head: bytearray, old_sectors: int, delta: int) -> None:
    """The protective entry covers the new size (capped as the MBR can hold it); a partition that reached
    the old end (an isohybrid MBR's ISO partition) reaches the new one."""
    if head[510:512] != b"\x55\xaa":
        return
    for index in range(4):
        at = MBR_ENTRIES + 16 * index
        kind = head[at + 4]
        start, size = struct.unpack_from("<II", head, at + 8)
        if kind == 0 or size == 0:
            continue
        if kind == MBR_PROTECTIVE and start == 1 and size in (old_sectors - 1, MAX_MBR_SECTORS):
            size = min(old_sectors - 1 + delta, MAX_MBR_SECTORS)
        elif start + size == old_sectors or (start == 0 and size == old_sectors - 1):
            size = min(size + delta, MAX_MBR_SECTORS - start)
        else:
            continue
        struct.pack_into("<I", head, at + 12, size)


def fit(head: bytes, old_size: int, new_size: int) -> Tuple[bytes, List[Write]]:
    """``head`` (the grown image's first sectors, the input's System Area in it) with its MBR and GPT fitted
    to an image grown from ``old_size`` to ``new_size`` bytes, and the writes that put the backup GPT at the
    new end. Unchanged (and no writes) if the image has no partition table of these kinds or did not grow."""
    if new_size <= old_size or new_size % SECTOR or old_size % SECTOR:
        return head, []
    new_head = bytearray(head)
    gpt = _read_gpt(head)
    old_sectors = gpt.alternate + 1 if gpt else old_size // SECTOR
    delta = new_size // SECTOR - old_sectors
    if delta <= 0:
        return head, []
    _fit_mbr(new_head, old_sectors, delta)
    if gpt is None:
        return bytes(new_head), []
    start = gpt.entries_lba * SECTOR
    for index in range(gpt.entry_count):
        at = start + index * gpt.entry_size + _ENTRY_LAST_LBA
        first, last = struct.unpack_from("<QQ", new_head, at - 8)
        if first and last + END_SLACK_SECTORS >= gpt.last_usable and last <= gpt.last_usable:
            struct.pack_into("<Q", new_head, at, last + delta)
    entries = bytes(new_head[start:start + gpt.entries_bytes])
    entries_crc = zlib.crc32(entries)
    alternate, last_usable = gpt.alternate + delta, gpt.last_usable + delta
    new_head[SECTOR:2 * SECTOR] = _header(head, gpt, 1, alternate, last_usable, gpt.entries_lba, entries_crc)
    backup_entries = alternate - gpt.entries_sectors
    padded = entries + bytes(gpt.entries_sectors * SECTOR - len(entries))
    tail = padded + _header(head, gpt, alternate, 1, last_usable, backup_entries, entries_crc)
    return bytes(new_head), [(backup_entries * SECTOR, tail)]


def fit_file(path: str, old_size: int, head_bytes: int = 65536) -> List[Write]:
    """:func:`fit` applied to the file at ``path`` in place (its current size is the new size); returns the
    writes made, the fitted head first. For the xorriso routes, which write the grown image themselves."""
    with open(path, "r+b") as handle:
        head = handle.read(head_bytes)
        handle.seek(0, 2)
        size = handle.tell()
        new_head, writes = fit(head, old_size, size)
        if new_head == head:
            return []
        writes = [(0, new_head)] + writes
        for offset, data in writes:
            handle.seek(offset)
            handle.write(data)
    return writes
