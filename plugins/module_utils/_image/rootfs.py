# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mount a raw disk image's Linux system the way its own fstab says (private to this collection).

Finds the root filesystem (the Linux filesystem holding ``/etc/os-release``),
mounts it, then every other filesystem its ``/etc/fstab`` names, at their
mount points. ext4, xfs and btrfs mount natively through per-partition loop
devices. The vfat ESP mounts natively where the kernel has vfat; elsewhere it
is copied out with mtools, bind-mounted in, and written back on success.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CustomizerError,
    ImageError,
    os_errors_as,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import resolve_in_root
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import (
    fat_as_directory,
    fat_extracted,
    fat_mode,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fstab import find_partition, parse_fstab
from ansible_collections.liveiso.customizer.plugins.module_utils._image.loop import loop_device
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import (
    LINUX_FILESYSTEMS,
    Partition,
    read_partitions,
)

SKIP_FSTYPES: Set[str] = {"swap", "proc", "sysfs", "tmpfs", "devpts", "nfs", "nfs4", "cifs", "none", "overlay", "bind",
                "efivarfs", "debugfs", "securityfs", "cgroup", "cgroup2"}
BTRFS_ROOT_SUBVOLUMES: Tuple[str, ...] = ("@", "root", "@rootfs")


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


class MountedImage(object):
    """A mounted image: ``root`` is the host path of its ``/``."""

    def __init__(self, raw: str, root: str, partitions: List[Partition], root_partition: Partition) -> None:
        self.raw = raw
        self.root = root
        self.partitions = partitions
        self.root_partition = root_partition
        self.mountpoints: List[MountPoint] = []

    def describe(self) -> str:
        return ", ".join("%s (partition %s, %s, %s)" % (mp, p.number, p.fstype, how)
                         for mp, p, how in self.mountpoints)


def _looks_like_root(directory: str) -> bool:
    """Does ``directory`` hold an OS? Its os-release is looked up inside it (links resolved in the image)."""
    def present(rel: str) -> bool:
        try:
            return os.path.isfile(resolve_in_root(directory, rel))
        except (OSError, CustomizerError):
            return False
    return any(present(rel) for rel in ("/etc/os-release", "/usr/lib/os-release"))


@contextlib.contextmanager
def _mount_partition(raw: str, partition: Partition, target: str, options: Optional[Sequence[str]] = None,
                     read_only: bool = False) -> Iterator[str]:
    opts = list(options or [])
    if read_only:
        opts.append("ro")
        if partition.fstype in ("ext4", "ext3"):
            opts.append("noload")  # no journal replay: the device is read-only
        elif partition.fstype == "xfs":
            opts += ["norecovery", "nouuid"]
    with contextlib.ExitStack() as stack:
        device = stack.enter_context(loop_device(raw, partition.offset, partition.size, read_only=read_only))
        stack.enter_context(mounted(device, target, fstype=partition.fstype, options=opts or None))
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


@contextlib.contextmanager
def _filesystem_at(raw: str, partition: Partition, target: str, options: Optional[Sequence[str]], mode: MountMode,
                   workdir: str) -> Iterator[str]:
    """Mount ``partition`` at ``target``: writable (RW), read-only (RO), or read-only under an overlay."""
    if mode is not MountMode.OVERLAY:
        with _mount_partition(raw, partition, target, options, read_only=mode.lower_read_only):
            yield target
        return
    lower = os.path.join(workdir, "lower", str(partition.number))
    os.makedirs(lower, exist_ok=True)
    with _mount_partition(raw, partition, lower, options, read_only=True), \
            overlaid(lower, target, workdir, str(partition.number)):
        yield target


def _mount_root(stack: contextlib.ExitStack, raw: str, partitions: Sequence[Partition], root: str, mode: MountMode,
                workdir: str, name: Optional[str] = None) -> Partition:
    """Mount the first Linux filesystem that holds an OS at ``root``; return its partition."""
    candidates = [p for p in partitions if p.fstype in LINUX_FILESYSTEMS]
    if not candidates:
        found = ", ".join("%s:%s" % (p.number, p.fstype or "unknown") for p in partitions) or "none"
        raise ImageError("no Linux root filesystem found in %s (partitions: %s)." % (name or raw, found),
                         "Use a disk image with an ext4, xfs or btrfs root filesystem.")
    for partition in candidates:
        attempts: List[Optional[str]] = [None]
        if partition.fstype == "btrfs":
            attempts += ["subvol=" + subvolume for subvolume in BTRFS_ROOT_SUBVOLUMES]
        for option in attempts:
            with contextlib.ExitStack() as probe:
                probe.enter_context(_filesystem_at(raw, partition, root, [option] if option else None, mode, workdir))
                if _looks_like_root(root):
                    stack.push(probe.pop_all())
                    return partition
    raise ImageError("no Linux root filesystem found in %s: no filesystem holds /etc/os-release." % (name or raw),
                     "Check that the image contains an installed Linux system.")


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
    partitions = read_partitions(raw, os.path.getsize(raw))
    root = os.path.join(workdir, "root")
    os.makedirs(root, exist_ok=True)
    with contextlib.ExitStack() as stack:
        root_partition = _mount_root(stack, raw, partitions, root, mode, workdir, name)
        image = MountedImage(raw, root, partitions, root_partition)
        image.mountpoints.append(MountPoint("/", root_partition, mode.value))
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
            if partition is None or partition is root_partition:
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
                options = [o for o in entry.options if o.startswith("subvol")] or None
                stack.enter_context(_filesystem_at(raw, partition, target, options, mode, workdir))
                image.mountpoints.append(MountPoint(entry.mountpoint, partition, mode.value))
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
