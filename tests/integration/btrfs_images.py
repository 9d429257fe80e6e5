# SPDX-License-Identifier: GPL-3.0-or-later
"""btrfs disk images laid out as distributions install them (built here with btrfs-progs, in about a second).

GPT: an empty ESP, ``/boot`` on ext4, and one btrfs filesystem whose subvolumes hold the OS:

- fedora:   ``root`` (mounted at /) and ``home``; fstab ``UUID=... / btrfs subvol=root,compress=zstd:1``.
            An older copy ``root-snap`` (a lower subvolume ID, listed first) also holds an OS, but its
            fstab mounts ``root`` at / : the image's own fstab decides.
- ubuntu:   ``@`` and ``@home``, plus an empty ``@snapshots``.
- opensuse: ``@`` holding ``@/home``, ``@/var``, ``@/.snapshots``; the root is ``@/.snapshots/1/snapshot``,
            the filesystem's default subvolume, and fstab mounts / with no subvol option at all.
- empty:    subvolumes without any OS.
"""

import contextlib
import os
import tempfile

from conftest import sh

ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
SECTOR = 512
ESP_START, ESP_SECTORS = 2048, 4096  # 1..3 MiB
BOOT_START, BOOT_SECTORS = 6144, 16384  # 3..11 MiB
BTRFS_START = 22528  # 11 MiB ..
BTRFS_MIB = 128
BTRFS_UUID = "5b5b0e0e-0000-4b7b-9a9a-000000000b7f"
BOOT_UUID = "5b5b0e0e-0000-4b7b-9a9a-0000000000b0"
OS_RELEASE = 'ID=tiny\nNAME="Tiny btrfs root"\n'

LAYOUTS = {
    "fedora": {"root": "root", "home": "home", "subvolumes": ["root-snap", "root", "home"],
               "fstab_root": "subvol=root,compress=zstd:1", "fstab_home": "subvol=home,compress=zstd:1"},
    "ubuntu": {"root": "@", "home": "@home", "subvolumes": ["@", "@home", "@snapshots"],
               "fstab_root": "defaults,subvol=@", "fstab_home": "defaults,subvol=@home"},
    "opensuse": {"root": "@/.snapshots/1/snapshot", "home": "@/home", "default": "@/.snapshots/1/snapshot",
                 "subvolumes": ["@", "@/home", "@/var", "@/.snapshots", "@/.snapshots/1/snapshot"],
                 "fstab_root": "defaults", "fstab_home": "subvol=/@/home",
                 "extra_fstab": ["UUID=%s /var btrfs subvol=/@/var 0 0" % BTRFS_UUID,
                                 "UUID=%s /.snapshots btrfs subvol=/@/.snapshots 0 0" % BTRFS_UUID]},
    "empty": {"root": None, "home": None, "subvolumes": ["@", "@home", "root"]},
}


def fstab(layout):
    spec = LAYOUTS[layout]
    lines = ["UUID=%s / btrfs %s 0 0" % (BTRFS_UUID, spec["fstab_root"]),
             "UUID=%s /boot ext4 defaults 1 2" % BOOT_UUID,
             "UUID=%s /home btrfs %s 0 0" % (BTRFS_UUID, spec["fstab_home"])] + spec.get("extra_fstab", [])
    return "\n".join(lines) + "\n"


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


@contextlib.contextmanager
def mounted_btrfs(image, options="subvolid=5"):
    """The btrfs filesystem in file ``image`` mounted (top level by default) with plain tools."""
    with tempfile.TemporaryDirectory(prefix="btrfs-mnt-", dir=os.path.dirname(image)) as mnt:
        loop = sh("losetup", "--find", "--show", image).strip()
        try:
            sh("mount", "-o", options, loop, mnt)
            try:
                yield mnt
            finally:
                sh("umount", mnt)
        finally:
            sh("losetup", "-d", loop)


def fill_btrfs(image, layout, os_tree=None):
    """Subvolumes of ``layout`` in the btrfs file ``image``; the OS (``os_tree`` or a tiny one) in its root."""
    spec = LAYOUTS[layout]
    with mounted_btrfs(image) as top:
        for subvol in spec["subvolumes"]:
            parent = os.path.dirname(os.path.join(top, subvol))
            os.makedirs(parent, exist_ok=True)
            sh("btrfs", "-q", "subvolume", "create", os.path.join(top, subvol))
        if spec["root"]:
            root = os.path.join(top, spec["root"])
            if os_tree:
                sh("cp", "-a", "--reflink=auto", os_tree + "/.", root)
                sh("sh", "-c", 'rm -rf "$1"/boot/* && rm -f "$1"/etc/fstab', "-", root)
            write(os.path.join(root, "etc/os-release"), OS_RELEASE)
            write(os.path.join(root, "etc/fstab"), fstab(layout))
            write(os.path.join(root, "etc/hostname"), "btrfs-%s\n" % layout)
            os.makedirs(os.path.join(root, "home"), exist_ok=True)
            os.makedirs(os.path.join(root, "boot"), exist_ok=True)
            write(os.path.join(top, spec["home"], "ops/.profile"), "# home subvolume of %s\n" % layout)
        if "root-snap" in spec["subvolumes"]:  # an older copy of the OS (created first: listed first)
            sh("cp", "-a", os.path.join(top, "root") + "/.", os.path.join(top, "root-snap"))
            write(os.path.join(top, "root-snap", "etc/hostname"), "old-snapshot\n")
        if spec.get("default"):
            sh("btrfs", "-q", "subvolume", "set-default", os.path.join(top, spec["default"]))
        if layout == "empty":
            write(os.path.join(top, "@home", "ops/.profile"), "# no OS anywhere\n")


def make_btrfs_disk(path, layout, os_tree=None, btrfs_mib=BTRFS_MIB, boot_mib=None):
    """A raw GPT disk at ``path`` with ``layout`` (see LAYOUTS); returns ``path``. With ``os_tree`` (a real
    system), its /boot goes to the ext4 /boot partition (``boot_mib`` large) and the rest to the root subvolume."""
    boot_sectors = (boot_mib << 20) // SECTOR if boot_mib else BOOT_SECTORS
    btrfs_start = BOOT_START + boot_sectors
    disk_mib = (btrfs_start * SECTOR >> 20) + btrfs_mib + 2
    with tempfile.TemporaryDirectory(prefix="btrfs-", dir=os.path.dirname(path)) as tmp:
        fs = os.path.join(tmp, "btrfs.img")
        sh("truncate", "-s", "%dM" % btrfs_mib, fs)
        sh("mkfs.btrfs", "-q", "-f", "-U", BTRFS_UUID, fs)
        fill_btrfs(fs, layout, os_tree)
        boot, esp = os.path.join(tmp, "boot.img"), os.path.join(tmp, "esp.img")
        sh("truncate", "-s", "%d" % (boot_sectors * SECTOR), boot)
        sh("mkfs.ext4", "-q", "-F", "-U", BOOT_UUID, *(["-d", os.path.join(os_tree, "boot")] if os_tree else []),
           boot)
        sh("mkfs.vfat", "-C", esp, str(ESP_SECTORS * SECTOR // 1024))
        sh("truncate", "-s", "%dM" % disk_mib, path)
        table = "label: gpt\nstart=%d, size=%d, type=%s\nstart=%d, size=%d, type=%s\nstart=%d, type=%s\n" % (
            ESP_START, ESP_SECTORS, ESP_TYPE, BOOT_START, boot_sectors, LINUX_TYPE, btrfs_start, LINUX_TYPE)
        sh("sfdisk", "-q", "--no-reread", "--no-tell-kernel", path, input=table.encode())
        for source, start in ((esp, ESP_START), (boot, BOOT_START), (fs, btrfs_start)):
            sh("dd", "if=" + source, "of=" + path, "bs=%d" % SECTOR, "seek=%d" % start, "conv=notrunc,sparse",
               "status=none")
    return path


@contextlib.contextmanager
def btrfs_of_disk(path, start=BTRFS_START):
    """The btrfs partition of a disk made by make_btrfs_disk (raw), mounted at its top level, read-only."""
    with tempfile.TemporaryDirectory(prefix="btrfs-view-", dir="/var/tmp") as mnt:
        loop = sh("losetup", "--find", "--show", "--read-only", "--offset", str(start * SECTOR),
                  path).strip()
        try:
            sh("mount", "-o", "ro,subvolid=5", loop, mnt)
            try:
                yield mnt
            finally:
                sh("umount", mnt)
        finally:
            sh("losetup", "-d", loop)
