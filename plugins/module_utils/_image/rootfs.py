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

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CustomizerError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import resolve_in_root
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import extract, fat_as_directory
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fstab import find_partition, parse_fstab
from ansible_collections.liveiso.customizer.plugins.module_utils._image.loop import loop_device
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import kernel_filesystems, mounted
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import (
    LINUX_FILESYSTEMS,
    read_partitions,
)

SKIP_FSTYPES = {"swap", "proc", "sysfs", "tmpfs", "devpts", "nfs", "nfs4", "cifs", "none", "overlay", "bind",
                "efivarfs", "debugfs", "securityfs", "cgroup", "cgroup2"}
BTRFS_ROOT_SUBVOLUMES = ("@", "root", "@rootfs")










def fat_mode():
    """'native' when this kernel mounts vfat, else 'mtools'; LIVEISO_FAT_MODE forces either."""
    forced = os.environ.get("LIVEISO_FAT_MODE", "auto")
    if forced in ("native", "mtools"):
        return forced
    return "native" if "vfat" in kernel_filesystems() else "mtools"


class MountedImage(object):
    """A mounted image: ``root`` is the host path of its ``/``."""

    def __init__(self, raw, root, partitions, root_partition):
        self.raw = raw
        self.root = root
        self.partitions = partitions
        self.root_partition = root_partition
        self.mountpoints = []  # (image path, partition, how)

    def describe(self):
        return ", ".join("%s (partition %s, %s, %s)" % (mp, p.number, p.fstype, how)
                         for mp, p, how in self.mountpoints)


def _looks_like_root(directory):
    """Does ``directory`` hold an OS? Its os-release is looked up inside it (links resolved in the image)."""
    def present(rel):
        try:
            return os.path.isfile(resolve_in_root(directory, rel))
        except (OSError, CustomizerError):
            return False
    return any(present(rel) for rel in ("/etc/os-release", "/usr/lib/os-release"))


@contextlib.contextmanager
def _mount_partition(raw, partition, target, options=None, read_only=False):
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
def overlaid(lower, target, workdir, name):
    """``target`` as a writable overlay over read-only ``lower``; changes live under ``workdir`` only."""
    upper = os.path.join(workdir, "upper", name)
    work = os.path.join(workdir, "ovl-work", name)
    os.makedirs(upper, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    with mounted("overlay", target, fstype="overlay",
                 options=["lowerdir=" + lower, "upperdir=" + upper, "workdir=" + work]):
        yield target


@contextlib.contextmanager
def _filesystem_at(raw, partition, target, options, mode, workdir):
    """Mount ``partition`` at ``target``: writable ("rw"), read-only ("ro"), or read-only under an overlay."""
    if mode != "overlay":
        with _mount_partition(raw, partition, target, options, read_only=(mode == "ro")):
            yield target
        return
    lower = os.path.join(workdir, "lower", str(partition.number))
    os.makedirs(lower, exist_ok=True)
    with _mount_partition(raw, partition, lower, options, read_only=True), \
            overlaid(lower, target, workdir, str(partition.number)):
        yield target


def _mount_root(stack, raw, partitions, root, mode, workdir, name=None):
    """Mount the first Linux filesystem that holds an OS at ``root``; return its partition."""
    candidates = [p for p in partitions if p.fstype in LINUX_FILESYSTEMS]
    if not candidates:
        found = ", ".join("%s:%s" % (p.number, p.fstype or "unknown") for p in partitions) or "none"
        raise ImageError("no Linux root filesystem found in %s (partitions: %s)." % (name or raw, found),
                         "Use a disk image with an ext4, xfs or btrfs root filesystem.")
    for partition in candidates:
        attempts = [None]
        if partition.fstype == "btrfs":
            attempts += ["subvol=" + name for name in BTRFS_ROOT_SUBVOLUMES]
        for option in attempts:
            with contextlib.ExitStack() as probe:
                probe.enter_context(_filesystem_at(raw, partition, root, [option] if option else None, mode, workdir))
                if _looks_like_root(root):
                    stack.push(probe.pop_all())
                    return partition
    raise ImageError("no Linux root filesystem found in %s: no filesystem holds /etc/os-release." % (name or raw),
                     "Check that the image contains an installed Linux system.")


@contextlib.contextmanager
def mounted_image(raw, workdir, mode="rw", skip_fstypes=(), name=None):
    """``with mounted_image(raw, workdir) as image:`` the OS in ``raw`` mounted at ``image.root``.

    ``mode``: "rw" changes ``raw`` itself (a work copy); "ro" mounts read-only; "overlay" mounts
    read-only under writable overlays whose changes stay in ``workdir`` (``raw`` is never written).
    Filesystems of a type in ``skip_fstypes`` are not mounted.
    """
    partitions = read_partitions(raw, os.path.getsize(raw))
    root = os.path.join(workdir, "root")
    os.makedirs(root, exist_ok=True)
    with contextlib.ExitStack() as stack:
        root_partition = _mount_root(stack, raw, partitions, root, mode, workdir, name)
        image = MountedImage(raw, root, partitions, root_partition)
        image.mountpoints.append(("/", root_partition, mode))
        fstab_path = resolve_in_root(root, "/etc/fstab")
        entries = []
        if os.path.isfile(fstab_path):
            with open(fstab_path) as handle:
                entries = parse_fstab(handle.read())
        entries = [e for e in entries if e.fstype not in SKIP_FSTYPES and e.mountpoint.startswith("/")
                   and e.mountpoint != "/" and "noauto" not in e.options]
        for entry in sorted(entries, key=lambda e: e.mountpoint.rstrip("/").count("/")):
            partition = find_partition(partitions, entry.spec)
            if partition is None or partition is root_partition:
                LOG.warning("fstab entry %s %s names no filesystem in the image; not mounted",
                            entry.spec, entry.mountpoint)
                continue
            if partition.fstype in skip_fstypes:
                continue
            target = resolve_in_root(root, entry.mountpoint)
            os.makedirs(target, exist_ok=True)
            if partition.fstype == "vfat" and fat_mode() == "mtools":
                copy = os.path.join(workdir, "fat-%d" % partition.number)
                stack.enter_context(fat_as_directory(raw, partition.offset, copy) if mode == "rw"
                                    else _extracted_only(raw, partition.offset, copy))
                stack.enter_context(mounted(copy, target, bind=True))
                image.mountpoints.append((entry.mountpoint, partition, "mtools copy"))
            else:
                options = [o for o in entry.options if o.startswith("subvol")] or None
                stack.enter_context(_filesystem_at(raw, partition, target, options, mode, workdir))
                image.mountpoints.append((entry.mountpoint, partition, mode))
        LOG.info("mounted %s: %s", raw, image.describe())
        yield image


@contextlib.contextmanager
def mounted_squashfs(squash, workdir, writable=True):
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


@contextlib.contextmanager
def _extracted_only(raw, offset, directory):
    extract(raw, offset, directory)
    yield directory
