# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Partition tables and filesystem probes of raw disk images (private to this collection).

The table is read with ``sfdisk -J`` and each filesystem is identified with
``blkid --probe --offset``: no loop device and no partition scanning needed.
"""

from __future__ import annotations

import json
from typing import List, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run

LINUX_FILESYSTEMS: Tuple[str, ...] = ("ext4", "ext3", "ext2", "xfs", "btrfs")


class Partition(object):
    """One partition (or the whole disk when there is no table) and what lives in it."""

    def __init__(self, number: int, offset: int, size: int, type_id: str = "", partuuid: str = "",
                 partlabel: str = "") -> None:
        self.number = number
        self.offset = offset
        self.size = size
        self.type_id = (type_id or "").lower()
        self.partuuid = (partuuid or "").lower()
        self.partlabel = partlabel or ""
        self.fstype = ""
        self.uuid = ""
        self.label = ""

    @property
    def where(self) -> str:
        """How messages name it: "partition 2" (an LVM logical volume: "LV vg/root")."""
        return "partition %d" % self.number

    def matches(self, spec: str) -> bool:
        """Does an fstab device spec (UUID=, LABEL=, PARTUUID=, PARTLABEL=) name this partition?"""
        if "=" not in spec:
            return False
        key, _sep, value = spec.partition("=")
        value = value.strip('"')
        key = key.upper()
        if key == "UUID":
            return bool(self.uuid) and self.uuid.lower() == value.lower()
        if key == "LABEL":
            return bool(self.label) and self.label == value
        if key == "PARTUUID":
            return bool(self.partuuid) and self.partuuid == value.lower()
        if key == "PARTLABEL":
            return bool(self.partlabel) and self.partlabel == value
        return False

    def __repr__(self) -> str:
        return "Partition(%s, offset=%s, size=%s, fstype=%s)" % (self.number, self.offset, self.size, self.fstype)


def parse_sfdisk_json(text: str) -> Tuple[str, List[Partition]]:
    """Partitions from ``sfdisk -J`` output, with byte offsets and sizes."""
    try:
        table = json.loads(text)["partitiontable"]
    except (ValueError, KeyError) as err:
        raise ImageError("cannot parse the partition table (%s)." % err)
    sector = int(table.get("sectorsize", 512))
    partitions: List[Partition] = []
    for index, entry in enumerate(table.get("partitions", []), start=1):
        node = entry.get("node", "")
        digits = ""
        for char in reversed(node):
            if not char.isdigit():
                break
            digits = char + digits
        number = int(digits) if digits else index
        partitions.append(Partition(
            number=number,
            offset=int(entry["start"]) * sector,
            size=int(entry["size"]) * sector,
            type_id=entry.get("type", ""),
            partuuid=entry.get("uuid", ""),
            partlabel=entry.get("name", ""),
        ))
    return str(table.get("label", "")), partitions


def probe_filesystem(image: str, partition: Partition) -> Partition:
    """Fill ``fstype``, ``uuid`` and ``label`` of ``partition`` from its superblock."""
    argv = ["blkid", "--probe", "--output", "export", "--offset", str(partition.offset)]
    if partition.size:
        argv += ["--size", str(partition.size)]
    result = run(argv + [image], check=False)
    for line in result.stdout.splitlines():
        key, _sep, value = line.partition("=")
        if key == "TYPE":
            partition.fstype = value
        elif key == "UUID":
            partition.uuid = value
        elif key == "LABEL":
            partition.label = value
    return partition


def read_partitions(image: str, image_size: int) -> List[Partition]:
    """All partitions of a raw image with their filesystems; the whole disk if it has no table."""
    result = run(["sfdisk", "--json", image], check=False)
    if result.returncode == 0 and result.stdout.strip():
        partitions = parse_sfdisk_json(result.stdout)[1]
    else:
        partitions = [Partition(number=0, offset=0, size=image_size)]
    for partition in partitions:
        probe_filesystem(image, partition)
    return partitions
