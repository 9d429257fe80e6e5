# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LVM logical volumes of a raw disk image, reached without device-mapper (private to this collection).

An LVM2 physical volume is read straight from the image file: its label (one of the first four sectors),
the header of its first metadata area, and the volume group's text metadata that header points to (the
newest copy; checksums verified). A linear logical volume whose extents lie in one contiguous run on one
physical volume is a plain byte range of the image, so it becomes a :class:`LogicalVolume` (a
:class:`Partition` with that offset and size) that the rest of the library mounts through a loop device like
any partition. No LVM tool runs and the volume group is never activated, so nothing appears on the host
(no ``/dev/mapper`` node, no ``/dev/<vg>``), whatever the host's LVM and udev rules: the physical volume
itself is never attached to a loop device, only the filesystems inside its logical volumes are.

Logical volumes that are not such a byte range (striped, mirrored/raid, thin, cache, snapshots, linear ones
in several runs or over several physical volumes) and volume groups with a physical volume that is not in
the image fail with an :class:`ImageError` naming the logical volume and its type.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition

SECTOR = 512
LABEL_ID = b"LABELONE"
LABEL_TYPE = b"LVM2 001"
LABEL_SCAN_SECTORS = 4
MDA_MAGIC = b" LVM2 x[5A%r0N*>"
MDA_HEADER_SIZE = 512
INITIAL_CRC = 0xF597A6CF
PV_FSTYPE = "LVM2_member"
LV_NUMBER_BASE = 1000  # LogicalVolume.number: above any partition number, unique per LV of the image

HINT_LINEAR = ("Without device-mapper only linear logical volumes (one contiguous run of extents on one physical "
               "volume) can be reached: convert the volume (lvconvert --type linear, pvmove to make it contiguous) "
               "or give an image whose filesystems are on partitions or linear LVs.")

Reader = Callable[[int, int], bytes]  # (offset, size) -> bytes, relative to the physical volume's start


def lvm_crc(data: bytes, initial: int = INITIAL_CRC) -> int:
    """LVM2's checksum: CRC-32 (the zlib polynomial) from ``initial``, with no pre- or post-inversion."""
    return (~zlib.crc32(data, ~initial & 0xFFFFFFFF)) & 0xFFFFFFFF


def format_uuid(raw: str) -> str:
    """LVM's 32-character id in its printed 6-4-4-4-4-4-6 form."""
    cuts = (6, 4, 4, 4, 4, 4, 6)
    pieces, at = [], 0
    for length in cuts:
        pieces.append(raw[at:at + length])
        at += length
    return "-".join(pieces)


class PvLabel(NamedTuple):
    """The label of a physical volume: its id, size, and metadata areas as (offset, size) in bytes."""

    uuid: str
    device_size: int
    metadata_areas: List[Tuple[int, int]]


def _disk_locations(data: bytes, at: int) -> Tuple[List[Tuple[int, int]], int]:
    """A zero-terminated list of (offset, size) u64 pairs at ``at``; returns it and the offset after it."""
    found: List[Tuple[int, int]] = []
    while at + 16 <= len(data):
        offset, size = struct.unpack_from("<QQ", data, at)
        at += 16
        if offset == 0:
            break
        found.append((offset, size))
    return found, at


def read_label(read: Reader) -> Optional[PvLabel]:
    """The LVM2 label of the physical volume ``read`` gives access to, or None if it has none."""
    head = read(0, LABEL_SCAN_SECTORS * SECTOR)
    for sector in range(LABEL_SCAN_SECTORS):
        block = head[sector * SECTOR:(sector + 1) * SECTOR]
        if len(block) < SECTOR or block[:8] != LABEL_ID or block[24:32] != LABEL_TYPE:
            continue
        sector_xl, crc, content_offset = struct.unpack_from("<QII", block, 8)
        if sector_xl != sector or lvm_crc(block[20:]) != crc:
            continue
        pv_uuid = block[content_offset:content_offset + 32].decode("ascii", "replace")
        device_size = struct.unpack_from("<Q", block, content_offset + 32)[0]
        data_areas_end = _disk_locations(block, content_offset + 40)[1]
        metadata_areas = _disk_locations(block, data_areas_end)[0]
        return PvLabel(format_uuid(pv_uuid), device_size, metadata_areas)
    return None


def read_metadata_text(read: Reader, mda_offset: int, mda_size: int, where: str) -> str:
    """The newest volume group metadata text in the metadata area at ``mda_offset`` ("" if it holds none)."""
    header = read(mda_offset, MDA_HEADER_SIZE)
    if len(header) < MDA_HEADER_SIZE or header[4:20] != MDA_MAGIC:
        raise ImageError("%s: the LVM metadata area at byte %d has no metadata header." % (where, mda_offset),
                         "The physical volume is damaged; check it with pvck on a copy of the image.")
    if lvm_crc(header[4:]) != struct.unpack_from("<I", header, 0)[0]:
        raise ImageError("%s: the LVM metadata header at byte %d fails its checksum." % (where, mda_offset),
                         "The physical volume is damaged; check it with pvck on a copy of the image.")
    text_offset, text_size, text_crc = struct.unpack_from("<QQI", header, 40)
    if text_offset == 0 or text_size == 0:
        return ""
    first = min(text_size, mda_size - text_offset)
    data = read(mda_offset + text_offset, first)
    if first < text_size:  # the text wraps around to just after the header
        data += read(mda_offset + MDA_HEADER_SIZE, text_size - first)
    if len(data) != text_size or lvm_crc(data) != text_crc:
        raise ImageError("%s: the LVM volume group metadata fails its checksum." % where,
                         "The physical volume is damaged; check it with pvck on a copy of the image.")
    return data.rstrip(b"\0").decode("utf-8", "replace")


# ---------------------------------------------------------------- the text format (lvm.conf syntax)

_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|[{}\[\]=,]|[^\s{}\[\]=,"#]+')


def _tokens(text: str) -> List[str]:
    found: List[str] = []
    at = 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise ImageError("cannot parse the LVM metadata near %r." % text[at:at + 40])
        token = match.group(0)
        at = match.end()
        if not token[0].isspace() and token[0] != "#":
            found.append(token)
    return found


def _value(token: str) -> Any:
    if token.startswith('"'):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    try:
        return int(token)
    except ValueError:
        try:
            return float(token)
        except ValueError:
            raise ImageError("cannot parse the LVM metadata value %r." % token)


def parse_metadata(text: str) -> Dict[str, Any]:
    """LVM text metadata (sections ``name { ... }``, ``key = value``, lists ``[ ... ]``) as nested dicts."""
    tokens = _tokens(text)
    stack: List[Dict[str, Any]] = [{}]
    at = 0
    while at < len(tokens):
        token = tokens[at]
        if token == "}":
            if len(stack) == 1:
                raise ImageError("cannot parse the LVM metadata: unbalanced '}'.")
            stack.pop()
            at += 1
        elif at + 1 < len(tokens) and tokens[at + 1] == "{":
            section: Dict[str, Any] = {}
            stack[-1][token] = section
            stack.append(section)
            at += 2
        elif at + 2 < len(tokens) and tokens[at + 1] == "=":
            if tokens[at + 2] == "[":
                items: List[Any] = []
                at += 3
                while at < len(tokens) and tokens[at] != "]":
                    if tokens[at] != ",":
                        items.append(_value(tokens[at]))
                    at += 1
                stack[-1][token] = items
                at += 1
            else:
                stack[-1][token] = _value(tokens[at + 2])
                at += 3
        else:
            raise ImageError("cannot parse the LVM metadata near %r." % " ".join(tokens[at:at + 4]))
    if len(stack) != 1:
        raise ImageError("cannot parse the LVM metadata: unbalanced '{'.")
    return stack[0]


# ---------------------------------------------------------------- volume groups and their logical volumes

class Segment(NamedTuple):
    """One segment of a logical volume: its extents in the LV, its type, and (pv name, first extent) stripes."""

    start_extent: int
    extent_count: int
    type: str
    stripes: List[Tuple[str, int]]
    origin: str = ""  # a snapshot segment's origin LV
    cow: str = ""  # and the LV holding the snapshot's copies


class VolumeDescription(NamedTuple):
    """A logical volume as the metadata describes it."""

    name: str
    uuid: str
    visible: bool
    segments: List[Segment]


class VolumeGroup(NamedTuple):
    """A volume group: its extent size (bytes), physical volumes {name: (id, pe_start bytes)}, LVs."""

    name: str
    uuid: str
    extent_size: int
    physical_volumes: Dict[str, Tuple[str, int]]
    volumes: List[VolumeDescription]


def _segment(body: Dict[str, Any]) -> Segment:
    flat = body.get("stripes", [])
    stripes = [(str(flat[i]), int(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]
    kind = str(body.get("type", "unknown"))
    if kind == "striped" and int(body.get("stripe_count", len(stripes))) > 1:
        kind = "striped (%d stripes)" % int(body.get("stripe_count", len(stripes)))
    return Segment(int(body.get("start_extent", 0)), int(body.get("extent_count", 0)), kind, stripes,
                   str(body.get("origin", "")), str(body.get("cow", "")))


def volume_groups(metadata: Dict[str, Any]) -> List[VolumeGroup]:
    """The volume groups of parsed metadata text (one per text, in practice)."""
    groups: List[VolumeGroup] = []
    for name, body in metadata.items():
        if not isinstance(body, dict) or "physical_volumes" not in body:
            continue
        pvs = {pv: (str(spec.get("id", "")), int(spec.get("pe_start", 0)) * SECTOR)
               for pv, spec in body.get("physical_volumes", {}).items() if isinstance(spec, dict)}
        volumes = []
        for lv_name, lv in body.get("logical_volumes", {}).items():
            if not isinstance(lv, dict):
                continue
            segments = [_segment(seg) for key, seg in sorted(lv.items()) if key.startswith("segment")
                        and isinstance(seg, dict)]
            segments.sort(key=lambda s: s.start_extent)
            volumes.append(VolumeDescription(lv_name, str(lv.get("id", "")), "VISIBLE" in lv.get("status", []),
                                             segments))
        groups.append(VolumeGroup(name, str(body.get("id", "")), int(body.get("extent_size", 0)) * SECTOR, pvs,
                                  volumes))
    return groups


def linear_run(group: VolumeGroup, volume: VolumeDescription) -> Tuple[str, int, int]:
    """(pv name, first physical extent, extent count) of a linear LV in one contiguous run; else ImageError."""
    name = "%s/%s" % (group.name, volume.name)
    other = [s.type for s in volume.segments if s.type != "striped" or len(s.stripes) != 1]
    if other or not volume.segments:
        kind = ", ".join(sorted(set(other))) or "without segments"
        raise ImageError("logical volume %s is %s: it cannot be reached without device-mapper." % (name, kind),
                         HINT_LINEAR)
    pvs = sorted(set(s.stripes[0][0] for s in volume.segments))
    if len(pvs) > 1:
        raise ImageError("logical volume %s is linear over several physical volumes (%s): it cannot be reached "
                         "without device-mapper." % (name, ", ".join(pvs)), HINT_LINEAR)
    first = volume.segments[0].stripes[0][1]
    count = 0
    for segment in volume.segments:
        if segment.stripes[0][1] != first + count:
            runs = ", ".join("%d-%d" % (s.stripes[0][1], s.stripes[0][1] + s.extent_count - 1)
                             for s in volume.segments)
            raise ImageError("logical volume %s is linear in pieces that are not contiguous on %s (extents %s): "
                             "it cannot be reached without device-mapper." % (name, pvs[0], runs), HINT_LINEAR)
        count += segment.extent_count
    return pvs[0], first, count


def _refuse_snapshots(group: VolumeGroup) -> None:
    """An LV with an old-style snapshot looks linear, but writing it without device-mapper's copy-on-write
    would corrupt the snapshot: refused, naming both."""
    for volume in group.volumes:
        for segment in volume.segments:
            if segment.type == "snapshot":
                raise ImageError("logical volume %s/%s has a snapshot (%s): writing it without device-mapper would "
                                 "corrupt the snapshot." % (group.name, segment.origin or "?", segment.cow or volume.name),
                                 "Remove or merge the snapshot (lvremove, lvconvert --merge) first.")


def dm_name(vg: str, lv: str) -> str:
    """The device-mapper name of an LV (``/dev/mapper/<this>``): dashes in either name doubled."""
    return "%s-%s" % (vg.replace("-", "--"), lv.replace("-", "--"))


class LogicalVolume(Partition):
    """A linear logical volume as a byte range of the image (``offset``, ``size``); ``number`` is unique
    (above any partition's) and ``pv_partition`` is the partition holding its physical volume."""

    def __init__(self, number: int, offset: int, size: int, vg: str, lv: str, vg_uuid: str, lv_uuid: str,
                 pv_partition: Partition) -> None:
        super(LogicalVolume, self).__init__(number, offset, size)
        self.vg = vg
        self.lv = lv
        self.vg_uuid = vg_uuid
        self.lv_uuid = lv_uuid
        self.pv_partition = pv_partition

    @property
    def where(self) -> str:
        return "LV %s/%s" % (self.vg, self.lv)

    def device_paths(self) -> Tuple[str, ...]:
        """The paths the guest's udev gives this LV (what an fstab may name it by)."""
        return ("/dev/mapper/" + dm_name(self.vg, self.lv), "/dev/%s/%s" % (self.vg, self.lv),
                "/dev/disk/by-id/dm-name-" + dm_name(self.vg, self.lv),
                "/dev/disk/by-id/dm-uuid-LVM-%s%s" % (self.vg_uuid.replace("-", ""), self.lv_uuid.replace("-", "")))

    def matches(self, spec: str) -> bool:
        return spec in self.device_paths() or super(LogicalVolume, self).matches(spec)

    def __repr__(self) -> str:
        return "LogicalVolume(%s/%s, offset=%s, size=%s, fstype=%s)" % (
            self.vg, self.lv, self.offset, self.size, self.fstype)


def _file_reader(image: str, base: int, limit: int) -> Reader:
    def read(offset: int, size: int) -> bytes:
        if offset < 0 or offset >= limit:
            return b""
        with open(image, "rb") as handle:
            handle.seek(base + offset)
            return handle.read(min(size, limit - offset))
    return read


def _pv_texts(image: str, partitions: Sequence[Partition]) -> Tuple[Dict[str, Partition], List[Tuple[str, Partition]],
                                                                    List[Partition]]:
    """{pv id: partition}, [(metadata text, partition)] and the PVs without a metadata area."""
    by_uuid: Dict[str, Partition] = {}
    texts: List[Tuple[str, Partition]] = []
    without: List[Partition] = []
    for partition in partitions:
        if partition.fstype != PV_FSTYPE:
            continue
        read = _file_reader(image, partition.offset, partition.size)
        label = read_label(read)
        if label is None:
            raise ImageError("%s looks like an LVM physical volume but has no valid LVM2 label." % partition.where,
                             "The physical volume is damaged; check it with pvck on a copy of the image.")
        by_uuid[label.uuid] = partition
        if not label.metadata_areas:
            without.append(partition)
        for offset, size in label.metadata_areas[:1]:
            text = read_metadata_text(read, offset, size, partition.where)
            if text:
                texts.append((text, partition))
    return by_uuid, texts, without


def logical_volumes(image: str, partitions: Sequence[Partition]) -> List[LogicalVolume]:
    """The logical volumes of every LVM physical volume among ``partitions`` of ``image`` (filesystems not
    probed yet). Fails naming the LV (and its type) that cannot be reached without device-mapper."""
    by_uuid, texts, without = _pv_texts(image, partitions)
    groups: Dict[str, VolumeGroup] = {}
    for text, partition in texts:
        for group in volume_groups(parse_metadata(text)):
            groups.setdefault(group.uuid or group.name, group)
    claimed: Set[int] = set()
    found: List[LogicalVolume] = []
    for group in groups.values():
        missing = ["%s (%s)" % (pv, uuid) for pv, (uuid, _start) in sorted(group.physical_volumes.items())
                   if uuid not in by_uuid]
        if missing:
            raise ImageError("volume group %s spans physical volumes that are not in this image: %s."
                             % (group.name, ", ".join(missing)),
                             "A volume group over several disks cannot be customized from one disk image; "
                             "give an image whose volume group lies on its own disk.")
        claimed.update(by_uuid[uuid].number for uuid, _start in group.physical_volumes.values())
        _refuse_snapshots(group)
        for volume in group.volumes:
            if not volume.visible:
                continue  # parts of another LV (raid images, pool data): the visible LV decides
            pv, first, count = linear_run(group, volume)
            uuid, pe_start = group.physical_volumes[pv]
            holder = by_uuid[uuid]
            found.append(LogicalVolume(LV_NUMBER_BASE + len(found) + 1,
                                       holder.offset + pe_start + first * group.extent_size,
                                       count * group.extent_size, group.name, volume.name, group.uuid,
                                       volume.uuid, holder))
    for partition in without:
        if partition.number not in claimed:
            raise ImageError("%s is an LVM physical volume with no metadata area, and no other physical volume "
                             "in the image describes its volume group." % partition.where,
                             "Its volume group's metadata lives on another disk: give an image whose volume "
                             "group lies on its own disk.")
    return found
