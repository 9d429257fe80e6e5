# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An image's /etc/fstab: parsing, and finding the partition an fstab source names (UUID=, LABEL=,
PARTUUID=, PARTLABEL=, /dev/disk/by-*, and an LVM logical volume's /dev/mapper/VG-LV, /dev/VG/LV)
(private to this collection).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition


class FstabEntry(object):
    """One fstab line: device spec, mount point, filesystem type, mount options."""

    def __init__(self, spec: str, mountpoint: str, fstype: str, options: List[str]) -> None:
        self.spec = spec
        self.mountpoint = mountpoint
        self.fstype = fstype
        self.options = options

    def __repr__(self) -> str:
        return "FstabEntry(%r, %r, %r)" % (self.spec, self.mountpoint, self.fstype)


def _fstab_unescape(value: str) -> str:
    return value.replace("\\040", " ").replace("\\011", "\t")


def parse_fstab(text: str) -> List[FstabEntry]:
    """Entries of an fstab, octal escapes (\\040) decoded."""
    entries: List[FstabEntry] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        options = fields[3].split(",") if len(fields) > 3 else ["defaults"]
        entries.append(FstabEntry(_fstab_unescape(fields[0]), _fstab_unescape(fields[1]), fields[2], options))
    return entries


def _names_a_volume(spec: str) -> bool:
    """Is ``spec`` a device-mapper or LVM path (/dev/mapper/X, /dev/VG/LV, /dev/disk/by-id/dm-*)?"""
    parts = spec.split("/")
    return spec.startswith(("/dev/mapper/", "/dev/disk/by-id/dm-")) or (
        len(parts) == 4 and parts[:2] == ["", "dev"] and parts[2] not in ("disk", "block", "md"))


def find_partition(partitions: Sequence[Partition], spec: str) -> Optional[Partition]:
    """The partition an fstab device spec names, or None."""
    for prefix, key in (("/dev/disk/by-uuid/", "UUID="), ("/dev/disk/by-label/", "LABEL="),
                        ("/dev/disk/by-partuuid/", "PARTUUID="), ("/dev/disk/by-partlabel/", "PARTLABEL=")):
        if spec.startswith(prefix):
            spec = key + spec[len(prefix):]
    for partition in partitions:
        if partition.matches(spec):
            return partition
    if _names_a_volume(spec):
        return None  # an LV the image does not have: its trailing digits are no partition number
    if spec.startswith("/dev/"):
        digits = ""
        for char in reversed(spec):
            if not char.isdigit():
                break
            digits = char + digits
        if digits:
            for partition in partitions:
                if partition.number == int(digits):
                    return partition
    return None
