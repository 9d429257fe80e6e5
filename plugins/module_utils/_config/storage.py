# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``storage`` section: parsed and validated as the reference does, not built yet (private to this collection).

Disks, partitions (GPT, 1 MiB aligned layout, no overlap, only the last may
``grow``), filesystems (each on a partition or verity device that exists, a
mount point needs a type, no mount path twice), btrfs subvolumes and quotas,
verity devices. A build with a storage section other than the no-op default
says "not supported yet" (:meth:`StorageConfig.unsupported_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Set, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as m
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

MIB = 1024 * 1024
_UNITS = {"K": 1024, "M": MIB, "G": 1024 * MIB, "T": 1024 * 1024 * MIB}
SIZE_RE = re.compile(r"^(\d+)([KMGT])$")
PARTITION_TYPES = frozenset({"esp", "bios-grub", "home", "linux-generic", "root", "root-verity", "srv", "swap", "tmp",
                             "usr", "usr-verity", "var", "xbootldr"})
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FS_TYPES = ("", "btrfs", "ext4", "xfs", "fat32", "vfat")
ID_TYPES = ("", "uuid", "part-uuid", "part-label")
GPT_HEADER = MIB  # 34 sectors, rounded up to the 1 MiB alignment
GPT_FOOTER = MIB


@dataclass(frozen=True)
class MountPoint:
    path: str
    id_type: str = ""
    options: str = ""


@dataclass(frozen=True)
class Partition:
    id: str
    start: int
    end: Optional[int]  #: None: grows to the end of the disk
    type: str = ""
    label: str = ""


@dataclass(frozen=True)
class Disk:
    partitions: Tuple[Partition, ...]
    max_size: Optional[int] = None
    partition_table_type: str = "gpt"


@dataclass(frozen=True)
class BtrfsSubvolume:
    path: str
    mount_point: Optional[MountPoint] = None
    referenced_limit: Optional[int] = None
    exclusive_limit: Optional[int] = None


@dataclass(frozen=True)
class FileSystem:
    device_id: str
    type: str = ""
    mount_point: Optional[MountPoint] = None
    subvolumes: Tuple[BtrfsSubvolume, ...] = ()


@dataclass(frozen=True)
class Verity:
    id: str
    name: str
    data_device_id: str = ""
    hash_device_id: str = ""
    data_device: Optional[Tuple[str, str]] = None  #: (idType, id) of an existing partition
    hash_device: Optional[Tuple[str, str]] = None
    data_device_mount_id_type: str = ""
    hash_device_mount_id_type: str = ""
    corruption_option: str = ""
    hash_signature_path: str = ""


@dataclass(frozen=True)
class StorageConfig:
    reset_partitions_uuids_type: str = ""
    boot_type: str = ""
    disks: Tuple[Disk, ...] = ()
    filesystems: Tuple[FileSystem, ...] = ()
    verity: Tuple[Verity, ...] = ()
    reinitialize_verity: str = ""

    @property
    def empty(self) -> bool:
        return self == StorageConfig()

    def unsupported_key(self) -> Optional[str]:
        """The first key whose behaviour is not built yet (None for the no-op default)."""
        for key, value in (("resetPartitionsUuidsType", self.reset_partitions_uuids_type), ("disks", self.disks),
                           ("verity", self.verity), ("reinitializeVerity", self.reinitialize_verity not in ("", "none"))):
            if value:
                return "storage." + key
        return None


def size(value: Any, path: str, grow: bool = False) -> Optional[int]:
    """A disk size ``<NUM>(K|M|G|T)`` in bytes; ``grow`` (None) where allowed."""
    text = m._str(value, path)
    if grow and text == "grow":
        return None
    match = SIZE_RE.match(text)
    if not match:
        raise ConfigError(path, "(%s) has incorrect format" % text,
                          "Expected format: %s<NUM>(K|M|G|T) (e.g. 100M, 1G)." % ("grow | " if grow else ""))
    return int(match.group(1)) * _UNITS[match.group(2)]


def _enum(section: Dict[str, Any], key: str, path: str, choices: Tuple[str, ...], default: str = "") -> str:
    if key not in section:
        return default
    value = m._str(section[key], "%s.%s" % (path, key), allow_empty=True)
    if value not in choices:
        raise ConfigError("%s.%s" % (path, key), "invalid value (%s)" % value,
                          "One of: %s." % ", ".join(repr(c) for c in choices if c))
    return value


def mount_point(value: Any, path: str) -> MountPoint:
    if isinstance(value, str):
        value = {"path": value}
    item = m._mapping(value, path, {"idType", "options", "path"})
    target = m._str(item.get("path"), path + ".path")
    if not target.startswith("/"):
        raise ConfigError(path + ".path", "(%s) must be an absolute path" % target)
    options = m._str(item["options"], path + ".options", allow_empty=True) if "options" in item else ""
    if re.search(r"\s", options):
        raise ConfigError(path + ".options", "options (%s) contain spaces, tabs, or newlines and are invalid" % options)
    return MountPoint(target, _enum(item, "idType", path, ID_TYPES), options)


def _partition(raw: Any, path: str, previous_end: Optional[int], first: bool, previous_id: str) -> Partition:
    item = m._mapping(raw, path, {"id", "label", "start", "end", "size", "type"})
    pid = m._str(item.get("id"), path + ".id")
    label = m._str(item["label"], path + ".label", allow_empty=True) if "label" in item else ""
    if len(label) > 35 or any(ord(char) > 127 for char in label):
        raise ConfigError(path + ".label", "partition name (%s) is too long or not ASCII" % label)
    ptype = m._str(item["type"], path + ".type", allow_empty=True) if "type" in item else ""
    if ptype and ptype not in PARTITION_TYPES and not UUID_RE.match(ptype):
        raise ConfigError(path + ".type", "partition type is unknown and is not a UUID (%s)" % ptype)
    if "end" in item and "size" in item:
        raise ConfigError(path, "cannot specify both end and size on partition (%s)" % pid)
    if "start" in item:
        start = size(item["start"], path + ".start")
    elif first:
        start = MIB
    elif previous_end is None:
        raise ConfigError(path + ".start", "partition (%s) omitted start value but previous partition (%s) has no size "
                          "or end value" % (pid, previous_id))
    else:
        start = previous_end
    begin = start if start is not None else 0
    end: Optional[int] = None
    if "end" in item:
        end = size(item["end"], path + ".end")
    elif "size" in item:
        length = size(item["size"], path + ".size", grow=True)
        end = None if length is None else begin + length
    if end is not None and end <= begin:
        raise ConfigError(path, "partition's (%s) size can't be 0 or negative" % pid)
    if ptype == "bios-grub" and begin != MIB:
        raise ConfigError(path + ".start", "BIOS boot partition must start at 1 MiB")
    return Partition(pid, begin, end, ptype, label)


def _disk(raw: Any, path: str) -> Disk:
    item = m._mapping(raw, path, {"partitionTableType", "maxSize", "partitions"})
    table = _enum(item, "partitionTableType", path, ("gpt",), "gpt")
    max_size = size(item["maxSize"], path + ".maxSize") if "maxSize" in item else None
    if max_size is not None and max_size <= 0:
        raise ConfigError(path + ".maxSize", "a disk's maxSize value must be a positive non-zero number")
    parts: List[Partition] = []
    for index, entry in enumerate(m._list(item.get("partitions"), path + ".partitions")):
        prev = parts[-1] if parts else None
        parts.append(_partition(entry, "%s.partitions[%d]" % (path, index), prev.end if prev else None, not parts,
                                prev.id if prev else ""))
    for first, second in zip(parts, parts[1:]):
        if first.end is None:
            raise ConfigError(path, "partition (%s) is not last partition but size is set to \"grow\"" % first.id)
        if first.end > second.start:
            raise ConfigError(path, "partition's (%s) range overlaps partition's (%s) range" % (first.id, second.id))
    if not parts and max_size is None:
        raise ConfigError(path, "either disk must specify maxSize or last partition must have an end or size value")
    if parts:
        if parts[0].start < GPT_HEADER:
            raise ConfigError(path, "invalid partition (%s) start: first 1 MiB of disk is reserved for the GPT header"
                              % parts[0].id)
        last = parts[-1]
        if last.end is None and max_size is None:
            raise ConfigError(path, "either disk must specify maxSize or last partition (%s) must have an end or size "
                              "value" % last.id)
        needed = (last.end if last.end is not None else last.start + MIB) + GPT_FOOTER
        if max_size is not None and needed > max_size:
            raise ConfigError(path + ".maxSize", "disk's partitions need %d bytes but maxSize is only %d" % (needed, max_size))
    return Disk(tuple(parts), max_size, table)


def _subvolume(raw: Any, path: str) -> BtrfsSubvolume:
    item = m._mapping(raw, path, {"path", "mountPoint", "quota"})
    sub = m._str(item.get("path"), path + ".path")
    if sub.startswith("/") or sub.endswith("/") or any(part in ("", ".", "..") for part in sub.split("/")):
        raise ConfigError(path + ".path", "(%s) must be relative, without empty, '.' or '..' components" % sub)
    quota = m._mapping(item.get("quota"), path + ".quota", {"referencedLimit", "exclusiveLimit"})
    limits = [size(quota[key], "%s.quota.%s" % (path, key)) if key in quota else None
              for key in ("referencedLimit", "exclusiveLimit")]
    point = mount_point(item["mountPoint"], path + ".mountPoint") if "mountPoint" in item else None
    if point is not None and re.search(r"(^|,)subvol(id)?=", point.options):
        raise ConfigError(path + ".mountPoint.options", "'subvol=' and 'subvolid=' options are not allowed; "
                          "'subvol=' is added automatically")
    return BtrfsSubvolume(sub, point, limits[0], limits[1])


def _filesystem(raw: Any, path: str) -> FileSystem:
    item = m._mapping(raw, path, {"deviceId", "type", "mountPoint", "btrfs"})
    device = m._str(item.get("deviceId"), path + ".deviceId")
    fs_type = _enum(item, "type", path, FS_TYPES)
    subvolumes: Tuple[BtrfsSubvolume, ...] = ()
    if "btrfs" in item:
        if fs_type != "btrfs":
            raise ConfigError(path + ".btrfs", "'btrfs' configuration is only valid for 'btrfs' filesystems")
        btrfs = m._mapping(item["btrfs"], path + ".btrfs", {"subvolumes"})
        subvolumes = tuple(_subvolume(entry, "%s.btrfs.subvolumes[%d]" % (path, index))
                           for index, entry in enumerate(m._list(btrfs.get("subvolumes"), path + ".btrfs.subvolumes")))
    point = mount_point(item["mountPoint"], path + ".mountPoint") if "mountPoint" in item else None
    if point is not None:
        if subvolumes:
            raise ConfigError(path + ".mountPoint", "cannot be set when 'btrfs.subvolumes' is non-empty")
        if not fs_type:
            raise ConfigError(path + ".mountPoint", "filesystem with 'mountPoint' must have a 'type'")
    return FileSystem(device, fs_type, point, subvolumes)


def _identified(value: Any, path: str) -> Tuple[str, str]:
    item = m._mapping(value, path, {"idType", "id"})
    return (_enum(item, "idType", path, ("part-uuid", "part-label"), "part-uuid"), m._str(item.get("id"), path + ".id"))


def _verity(raw: Any, path: str) -> Verity:
    item = m._mapping(raw, path, {"id", "name", "dataDeviceId", "dataDevice", "dataDeviceMountIdType", "hashDeviceId",
                                  "hashDevice", "hashDeviceMountIdType", "corruptionOption", "hashSignaturePath"})
    name = m._str(item.get("name"), path + ".name", allow_empty=True) if "name" in item else ""
    if not re.match(r"^[a-z]+$", name):
        raise ConfigError(path + ".name", "invalid 'name' value (%s)" % name)

    def text(key: str) -> str:
        return m._str(item[key], "%s.%s" % (path, key), allow_empty=True) if key in item else ""

    verity = Verity(
        id=m._str(item.get("id"), path + ".id"), name=name,
        data_device_id=text("dataDeviceId"), hash_device_id=text("hashDeviceId"),
        data_device=_identified(item["dataDevice"], path + ".dataDevice") if "dataDevice" in item else None,
        hash_device=_identified(item["hashDevice"], path + ".hashDevice") if "hashDevice" in item else None,
        data_device_mount_id_type=_enum(item, "dataDeviceMountIdType", path, ID_TYPES),
        hash_device_mount_id_type=_enum(item, "hashDeviceMountIdType", path, ID_TYPES),
        corruption_option=_enum(item, "corruptionOption", path, ("", "io-error", "ignore", "panic", "restart")),
        hash_signature_path=text("hashSignaturePath"))
    for role, by_id, existing in (("data", verity.data_device_id, verity.data_device),
                                  ("hash", verity.hash_device_id, verity.hash_device)):
        if bool(by_id) == (existing is not None):
            raise ConfigError(path, "exactly one of '%sDeviceId' and '%sDevice' must be specified" % (role, role))
    sig = verity.hash_signature_path
    if sig and (not sig.startswith("/boot/") or re.search(r"//|/\./|/\.\./|/$", sig)):
        raise ConfigError(path + ".hashSignaturePath", "(%s) must be a normalized path under /boot" % sig)
    return verity


def _check_tree(storage: StorageConfig, path: str) -> None:
    """The reference's device tree: ids exist, are used once, mount paths are unique, ESP/BIOS rules."""
    partitions: Dict[str, Partition] = {p.id: p for disk in storage.disks for p in disk.partitions}
    if len(partitions) != sum(len(disk.partitions) for disk in storage.disks):
        raise ConfigError(path + ".disks", "duplicate partition id")
    devices: Set[str] = set(partitions)
    for verity in storage.verity:
        if verity.id in devices:
            raise ConfigError(path + ".verity", "duplicate id (%s)" % verity.id)
        devices.add(verity.id)
    used: Set[str] = set()
    for index, verity in enumerate(storage.verity):
        ids = [verity.data_device_id] + ([verity.hash_device_id] if verity.hash_device_id != verity.data_device_id else [])
        for device in filter(None, ids):
            if device not in partitions:
                raise ConfigError("%s.verity[%d]" % (path, index), "device (%s) not found or not a partition" % device)
            if device in used:
                raise ConfigError("%s.verity[%d]" % (path, index), "device (%s) is used by multiple things" % device)
            used.add(device)
    mounts: Set[str] = set()
    for index, fs in enumerate(storage.filesystems):
        fs_path = "%s.filesystems[%d]" % (path, index)
        if fs.device_id not in devices:
            raise ConfigError(fs_path + ".deviceId", "device (%s) not found" % fs.device_id)
        if fs.device_id in used:
            raise ConfigError(fs_path + ".deviceId", "device (%s) is used by multiple things" % fs.device_id)
        used.add(fs.device_id)
        for point in [fs.mount_point] + [sub.mount_point for sub in fs.subvolumes]:
            if point is not None:
                if point.path in mounts:
                    raise ConfigError(fs_path, "duplicate 'mountPoint.path' (%s)" % point.path)
                mounts.add(point.path)
        part = partitions.get(fs.device_id)
        esp_ok = fs.type in ("fat32", "vfat") and fs.mount_point is not None and fs.mount_point.path == "/boot/efi"
        if part is not None and part.type == "esp" and not esp_ok:
            raise ConfigError(fs_path, "ESP partition (%s) must have a 'fat32' or 'vfat' filesystem mounted at /boot/efi"
                              % part.id)
        if part is not None and part.type == "bios-grub" and (fs.type or fs.mount_point is not None):
            raise ConfigError(fs_path, "BIOS boot partition (%s) must not have a filesystem 'type' or 'mountPoint'"
                              % part.id)
    types = {p.type for p in partitions.values()}
    if storage.boot_type == "efi" and "esp" not in types:
        raise ConfigError(path + ".bootType", "'esp' partition must be provided for 'efi' boot type")
    if storage.boot_type == "legacy" and "bios-grub" not in types:
        raise ConfigError(path + ".bootType", "'bios-grub' partition must be provided for 'legacy' boot type")


def parse_storage(value: Any, path: str = "config.storage") -> StorageConfig:
    section = m._mapping(value, path, {"resetPartitionsUuidsType", "bootType", "disks", "filesystems", "verity",
                                       "reinitializeVerity"})
    raw_disks = m._list(section.get("disks"), path + ".disks")
    disks = tuple(_disk(raw, "%s.disks[%d]" % (path, index)) for index, raw in enumerate(raw_disks))
    if len(disks) > 1:
        raise ConfigError(path + ".disks", "defining multiple disks is not currently supported")
    storage = StorageConfig(
        reset_partitions_uuids_type=_enum(section, "resetPartitionsUuidsType", path, ("", "reset-all")),
        boot_type=_enum(section, "bootType", path, ("", "efi", "legacy")),
        disks=disks,
        filesystems=tuple(_filesystem(raw, "%s.filesystems[%d]" % (path, index))
                          for index, raw in enumerate(m._list(section.get("filesystems"), path + ".filesystems"))),
        verity=tuple(_verity(raw, "%s.verity[%d]" % (path, index))
                     for index, raw in enumerate(m._list(section.get("verity"), path + ".verity"))),
        reinitialize_verity=_enum(section, "reinitializeVerity", path, ("", "none", "all")),
    )
    by_id = any(v.data_device_id or v.hash_device_id for v in storage.verity)
    existing = any(v.data_device or v.hash_device for v in storage.verity)
    for bad, message in ((by_id and existing, "cannot use both dataDeviceId/hashDeviceId and dataDevice/hashDevice"),
                         (storage.reset_partitions_uuids_type and disks, "cannot specify both 'resetPartitionsUuidsType' "
                          "and 'disks'"),
                         (disks and not storage.boot_type, "must specify 'bootType' if 'disks' are specified"),
                         (storage.boot_type and not disks, "cannot specify 'bootType' without specifying 'disks'"),
                         (storage.filesystems and not disks, "cannot specify 'filesystems' without specifying 'disks'"),
                         (by_id and not disks, "cannot specify 'verity' with dataDeviceId/hashDeviceId without "
                          "specifying 'disks'"),
                         (existing and disks, "cannot specify both 'verity' with dataDevice/hashDevice and 'disks'")):
        if bad:
            raise ConfigError(path, message)
    _check_tree(storage, path)
    return storage


def check_boot_loader_reset(storage: StorageConfig, raw_os: Any) -> None:
    """The reference's rule across sections: a new disk layout or new partition UUIDs need
    ``os.bootloader.resetType`` (the boot loader must be regenerated for them)."""
    boot_loader = raw_os.get("bootloader") if isinstance(raw_os, dict) else None
    reset = boot_loader.get("resetType") if isinstance(boot_loader, dict) else None
    if reset:
        return
    if storage.disks:
        raise ConfigError("config.os.bootloader.resetType", "must be specified if 'storage.disks' is specified",
                          "Add os.bootloader.resetType: hard-reset.")
    if storage.reset_partitions_uuids_type:
        raise ConfigError("config.os.bootloader.resetType", "must be specified if 'storage.resetPartitionsUuidsType' "
                          "is specified", "Add os.bootloader.resetType: hard-reset.")
