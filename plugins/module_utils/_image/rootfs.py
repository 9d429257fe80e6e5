# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mount a raw disk image's Linux system the way its own fstab says (private to this collection).

Finds the root filesystem (the Linux filesystem holding ``/etc/os-release``),
mounts it, then every other filesystem its ``/etc/fstab`` names, at their
mount points. ext4, xfs and btrfs mount natively through per-partition loop
devices; so do those in linear LVM logical volumes (``lvm.py``: a loop device
over the LV's byte range in its physical volume, no device-mapper). The vfat
ESP mounts natively where the kernel has vfat; elsewhere it is copied out with
mtools, bind-mounted in, and written back on success.
"""

from __future__ import annotations

import contextlib
import os
from typing import Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CommandError,
    CustomizerError,
    ImageError,
    os_errors_as,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import resolve_in_root
from ansible_collections.liveiso.customizer.plugins.module_utils._image import btrfs, lvm
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import (
    fat_as_directory,
    fat_extracted,
    fat_mode,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fstab import (
    FstabEntry,
    find_partition,
    parse_fstab,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.loop import loop_device
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import (
    LINUX_FILESYSTEMS,
    Partition,
    probe_filesystem,
    read_partitions,
)

SKIP_FSTYPES: Set[str] = {"swap", "proc", "sysfs", "tmpfs", "devpts", "nfs", "nfs4", "cifs", "none", "overlay", "bind",
                          "efivarfs", "debugfs", "securityfs", "cgroup", "cgroup2"}


class MountMode(StrEnum):
    """How :func:`mounted_image` mounts an image's filesystems."""

    RW = "rw"            # writable: the build changes the (work copy) image itself
    RO = "ro"            # read-only
    OVERLAY = "overlay"  # read-only under writable overlays whose changes stay in the work directory

    @property
    def lower_read_only(self) -> bool:
        """Are the image's filesystems themselves mounted read-only (the image file is never written)?"""
        return self is not MountMode.RW


class MountPoint(NamedTuple):
    """One filesystem of a :class:`MountedImage`: where it is in the image, which partition, and how."""

    image_path: str
    partition: Partition
    how: str  # a MountMode's value, or "mtools copy"
    subvolume: str = ""  # the btrfs mount option that chose the subvolume (subvol=/root), if any


class MountedImage(object):
    """A mounted image: ``root`` is the host path of its ``/``."""

    def __init__(self, raw: str, root: str, partitions: List[Partition], root_partition: Partition) -> None:
        self.raw = raw
        self.root = root
        self.partitions = partitions
        self.root_partition = root_partition
        self.mountpoints: List[MountPoint] = []

    def describe(self) -> str:
        return ", ".join("%s (%s, %s%s, %s)" % (mp.image_path, mp.partition.where, mp.partition.fstype,
                                                " " + mp.subvolume if mp.subvolume else "", mp.how)
                         for mp in self.mountpoints)


class _Devices(object):
    """One loop device per partition (and access mode) for the whole mounted image: every subvolume of a
    btrfs filesystem is mounted from the same device (a second device with the same filesystem UUID is
    refused by the kernel), and a probe reuses the device of the mount that follows it."""

    def __init__(self, stack: contextlib.ExitStack, raw: str) -> None:
        self._stack = stack
        self._raw = raw
        self._devices: Dict[Tuple[int, bool], str] = {}

    def get(self, partition: Partition, read_only: bool) -> str:
        key = (partition.number, read_only)
        if key not in self._devices:
            self._devices[key] = self._stack.enter_context(
                loop_device(self._raw, partition.offset, partition.size, read_only=read_only))
        return self._devices[key]


def _looks_like_root(directory: str) -> bool:
    """Does ``directory`` hold an OS? Its os-release is looked up inside it (links resolved in the image)."""
    def present(rel: str) -> bool:
        try:
            return os.path.isfile(resolve_in_root(directory, rel))
        except (OSError, CustomizerError):
            return False
    return any(present(rel) for rel in ("/etc/os-release", "/usr/lib/os-release"))


def _mount_options(partition: Partition, options: Optional[Sequence[str]], read_only: bool) -> List[str]:
    opts = list(options or [])
    if read_only:
        opts.append("ro")
        if partition.fstype in ("ext4", "ext3"):
            opts.append("noload")  # no journal replay: the device is read-only
        elif partition.fstype == "xfs":
            opts += ["norecovery", "nouuid"]
    return opts


@contextlib.contextmanager
def _mount_partition(devices: _Devices, partition: Partition, target: str, options: Optional[Sequence[str]] = None,
                     read_only: bool = False) -> Iterator[str]:
    device = devices.get(partition, read_only)
    with mounted(device, target, fstype=partition.fstype,
                 options=_mount_options(partition, options, read_only) or None):
        yield target


@contextlib.contextmanager
def overlaid(lower: str, target: str, workdir: str, name: str) -> Iterator[str]:
    """``target`` as a writable overlay over read-only ``lower``; changes live under ``workdir`` only."""
    upper = os.path.join(workdir, "upper", name)
    work = os.path.join(workdir, "ovl-work", name)
    os.makedirs(upper, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    with mounted("overlay", target, fstype="overlay",
                 options=["lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work]):
        yield target


def _layer_name(partition: Partition, options: Optional[Sequence[str]]) -> str:
    """The overlay directories' name of a filesystem: its partition, and its btrfs subvolume if one is named."""
    subvol = [o.split("=", 1)[1] for o in options or [] if o.startswith(("subvol=", "subvolid="))]
    return str(partition.number) + ("-" + subvol[0].strip("/").replace("/", "_") if subvol else "")


@contextlib.contextmanager
def _filesystem_at(devices: _Devices, partition: Partition, target: str, options: Optional[Sequence[str]],
                   mode: MountMode, workdir: str) -> Iterator[str]:
    """Mount ``partition`` at ``target``: writable (RW), read-only (RO), or read-only under an overlay."""
    if mode is not MountMode.OVERLAY:
        with _mount_partition(devices, partition, target, options, read_only=mode.lower_read_only):
            yield target
        return
    name = _layer_name(partition, options)
    lower = os.path.join(workdir, "lower", name)
    os.makedirs(lower, exist_ok=True)
    with _mount_partition(devices, partition, lower, options, read_only=True), \
            overlaid(lower, target, workdir, name):
        yield target


def _btrfs_root(devices: _Devices, partition: Partition, mode: MountMode, workdir: str) -> btrfs.RootChoice:
    """Which subvolume of the btrfs ``partition`` holds the OS: its top level, mounted read-only, is asked."""
    top = os.path.join(workdir, "btrfs-top-%d" % partition.number)
    os.makedirs(top, exist_ok=True)
    # the device the root will be mounted from (one device per filesystem), mounted read-only here
    options = ["subvolid=%d" % btrfs.TOP_LEVEL_ID] + ([] if mode.lower_read_only else ["ro"])
    with _mount_partition(devices, partition, top, options, read_only=mode.lower_read_only):

        def holds_os(relpath: str) -> bool:
            return _looks_like_root(os.path.join(top, relpath))

        def read_fstab(relpath: str) -> str:
            try:
                with open(resolve_in_root(os.path.join(top, relpath), "/etc/fstab")) as handle:
                    return handle.read()
            except (OSError, CustomizerError, UnicodeDecodeError):
                return ""

        return btrfs.choose_root(top, holds_os, read_fstab, btrfs.default_subvolume(top), btrfs.subvolumes(top))


def _mount_root(stack: contextlib.ExitStack, devices: _Devices, partitions: Sequence[Partition], root: str,
                mode: MountMode, workdir: str, name: str) -> Tuple[Partition, str]:
    """Mount the first Linux filesystem that holds an OS at ``root``; return its partition and the btrfs
    subvolume option that chose the root ("" for other filesystems). A probe that fails is a miss."""
    candidates = [p for p in partitions if p.fstype in LINUX_FILESYSTEMS]
    if not candidates:
        found = ", ".join("%s:%s" % (p.number if not isinstance(p, lvm.LogicalVolume) else p.where,
                                     p.fstype or "unknown") for p in partitions) or "none"
        raise ImageError("no Linux root filesystem found in %s (partitions: %s)." % (name, found),
                         "Use a disk image with an ext4, xfs or btrfs root filesystem.")
    looked_at = []
    for partition in candidates:
        option = ""
        try:
            if partition.fstype == "btrfs":
                choice = _btrfs_root(devices, partition, mode, workdir)
                looked_at.append("%s (btrfs): %s" % (partition.where, ", ".join(choice.looked_at)))
                if choice.subvolume is None:
                    continue
                option = choice.subvolume.mount_option
            else:
                looked_at.append("%s (%s)" % (partition.where, partition.fstype))
            with contextlib.ExitStack() as probe:
                probe.enter_context(_filesystem_at(devices, partition, root, [option] if option else None, mode,
                                                   workdir))
                if _looks_like_root(root):
                    stack.push(probe.pop_all())
                    return partition, option
        except CommandError as exc:  # a filesystem that does not mount is not the root; say so if none is
            looked_at.append("%s did not mount: %s" % (partition.where, exc))
    raise ImageError("no Linux root filesystem found in %s: no filesystem holds /etc/os-release (looked at %s)."
                     % (name, "; ".join(looked_at)), "Check that the image contains an installed Linux system.")


# btrfs mount options an fstab entry may carry that matter for writes and are the kernel's own (systemd's x-*,
# nofail, defaults and the like are not kernel options and are left out).
BTRFS_WRITE_OPTIONS: Tuple[str, ...] = ("compress", "compress-force", "noatime", "relatime", "nodatacow",
                                        "nodatasum", "autodefrag", "ssd", "nossd", "discard")


def _same_filesystem_mount(entry: FstabEntry, root_option: str) -> Optional[List[str]]:
    """The options that mount another subvolume of the root's btrfs filesystem (None: not to be mounted): the
    subvolume, then the entry's own btrfs options (compression, atime) so writes land as the image wants."""
    options = [o for o in entry.options if o.startswith(("subvol=", "subvolid="))]
    if not options or options[0] == root_option or ".snapshots" in options[0]:
        return None  # the root itself, the default subvolume (no option), or snapshots
    return options[:1] + [o for o in entry.options if o.split("=", 1)[0] in BTRFS_WRITE_OPTIONS]


def _image_volumes(raw: str) -> List[Partition]:
    """The partitions of ``raw`` (the whole disk without a table), then the logical volumes of its LVM
    physical volumes, each with its filesystem probed."""
    partitions = read_partitions(raw, os.path.getsize(raw))
    volumes = lvm.logical_volumes(raw, partitions)
    for volume in volumes:
        probe_filesystem(raw, volume)
    if volumes:
        LOG.info("LVM logical volumes of %s: %s", raw,
                 ", ".join("%s (%s)" % (v.where, v.fstype or "no filesystem") for v in volumes))
    return partitions + list(volumes)


@contextlib.contextmanager
def mounted_image(raw: str, workdir: str, mode: Union[MountMode, str] = MountMode.RW,
                  skip_fstypes: Iterable[str] = (), name: Optional[str] = None) -> Iterator[MountedImage]:
    """``with mounted_image(raw, workdir) as image:`` the OS in ``raw`` mounted at ``image.root``.

    ``mode`` (a :class:`MountMode` or its value): "rw" changes ``raw`` itself (a work copy); "ro" mounts
    read-only; "overlay" mounts read-only under writable overlays whose changes stay in ``workdir`` (``raw``
    is never written). Filesystems of a type in ``skip_fstypes`` are not mounted.
    """
    mode = MountMode(mode)
    skip = set(skip_fstypes)
    partitions = _image_volumes(raw)
    root = os.path.join(workdir, "root")
    os.makedirs(root, exist_ok=True)
    with contextlib.ExitStack() as stack:
        devices = _Devices(stack, raw)
        root_partition, root_option = _mount_root(stack, devices, partitions, root, mode, workdir, name or raw)
        image = MountedImage(raw, root, partitions, root_partition)
        image.mountpoints.append(MountPoint("/", root_partition, mode.value, root_option))
        fstab_path = resolve_in_root(root, "/etc/fstab")
        entries = []
        if os.path.isfile(fstab_path):
            with os_errors_as("read the image's /etc/fstab", fstab_path,
                              "The image's /etc/fstab must be a readable file; fix the image."), \
                    open(fstab_path) as handle:
                entries = parse_fstab(handle.read())
        entries = [e for e in entries if e.fstype not in SKIP_FSTYPES and e.mountpoint.startswith("/")
                   and e.mountpoint != "/" and "noauto" not in e.options]
        for entry in sorted(entries, key=lambda e: e.mountpoint.rstrip("/").count("/")):
            partition = find_partition(partitions, entry.spec)
            options = [o for o in entry.options if o.startswith("subvol")] or None
            if partition is not None and partition is root_partition and partition.fstype == "btrfs":
                options = _same_filesystem_mount(entry, root_option)
                if options is None:
                    LOG.info("fstab entry %s %s: not mounted (the root's own subvolume, its default, or snapshots)",
                             entry.spec, entry.mountpoint)
                    continue
            elif partition is None or partition is root_partition:
                LOG.warning("fstab entry %s %s names no filesystem in the image; not mounted",
                            entry.spec, entry.mountpoint)
                continue
            if partition.fstype in skip:
                continue
            target = resolve_in_root(root, entry.mountpoint)
            with os_errors_as("create the mount point %s in the image" % entry.mountpoint, target,
                              "The image's fstab names a mount point its root filesystem cannot hold; fix the image."):
                os.makedirs(target, exist_ok=True)
            if partition.fstype == "vfat" and not fat_mode().mounts:
                copy = os.path.join(workdir, "fat-%d" % partition.number)
                stack.enter_context(fat_as_directory(raw, partition.offset, copy) if not mode.lower_read_only
                                    else fat_extracted(raw, partition.offset, copy))
                stack.enter_context(mounted(copy, target, bind=True))
                image.mountpoints.append(MountPoint(entry.mountpoint, partition, "mtools copy"))
            else:
                stack.enter_context(_filesystem_at(devices, partition, target, options, mode, workdir))
                image.mountpoints.append(MountPoint(entry.mountpoint, partition, mode.value,
                                                    options[0] if options and partition.fstype == "btrfs" else ""))
        LOG.info("mounted %s: %s", raw, image.describe())
        yield image


@contextlib.contextmanager
def mounted_squashfs(squash: str, workdir: str, writable: bool = True) -> Iterator[str]:
    """A squashfs root filesystem image mounted read-only at ``workdir/root``, under an overlay if ``writable``."""
    lower = os.path.join(workdir, "lower-squashfs")
    root = os.path.join(workdir, "root")
    os.makedirs(lower, exist_ok=True)
    os.makedirs(root, exist_ok=True)
    with contextlib.ExitStack() as stack:
        device = stack.enter_context(loop_device(squash, read_only=True))
        if writable:
            stack.enter_context(mounted(device, lower, fstype="squashfs", options=["ro"]))
            stack.enter_context(overlaid(lower, root, workdir, "squashfs"))
        else:
            stack.enter_context(mounted(device, root, fstype="squashfs", options=["ro"]))
        yield root
