# SPDX-License-Identifier: GPL-3.0-or-later
"""_image/btrfs.py: parsing btrfs-progs output and choosing the root subvolume (no root needed)."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._image import btrfs

FEDORA = ("ID 256 gen 7 top level 5 path root-snap\nID 257 gen 7 top level 5 path root\n"
          "ID 258 gen 7 top level 5 path home\n")
SUSE = ("ID 256 gen 7 top level 5 path @\nID 257 gen 7 top level 256 path @/home\n"
        "ID 259 gen 7 top level 256 path @/.snapshots\nID 260 gen 9 top level 259 path @/.snapshots/1/snapshot\n")


def test_parse_list_and_default():
    assert btrfs.parse_list(FEDORA) == [btrfs.Subvolume(256, "root-snap"), btrfs.Subvolume(257, "root"),
                                        btrfs.Subvolume(258, "home")]
    assert btrfs.parse_list("ID 300 gen 1 cgen 1 top level 5 otime 2026-01-01 10:00:00 path with space\n") == [
        btrfs.Subvolume(300, "with space")]
    assert btrfs.parse_list("") == []
    assert btrfs.parse_default("ID 5 (FS_TREE)\n") is None
    assert btrfs.parse_default("ID 260 gen 9 top level 259 path @/.snapshots/1/snapshot\n") == btrfs.Subvolume(
        260, "@/.snapshots/1/snapshot")


def test_mount_options_are_explicit():
    assert btrfs.TOP_LEVEL.mount_option == "subvolid=5"  # a bare mount would mount the default subvolume
    assert btrfs.Subvolume(257, "root").mount_option == "subvol=/root"


@pytest.mark.parametrize("fstab, expected", [
    ("UUID=x / btrfs subvol=root,compress=zstd:1 0 0\n", "root"),
    ("UUID=x / btrfs defaults,subvol=/@ 0 0\n", "@"),
    ("UUID=x / btrfs subvolid=257 0 0\n", "id:257"),
    ("UUID=x / btrfs defaults 0 0\n", None),
    ("# UUID=x / btrfs subvol=old 0 0\nUUID=y /home btrfs subvol=home 0 0\n", None),
    ("", None),
])
def test_fstab_root_subvolume(fstab, expected):
    assert btrfs.fstab_root_subvolume(fstab) == expected


def choose(default, candidates, with_os, fstabs=None):
    fstabs = fstabs or {}
    return btrfs.choose_root("/top", lambda rel: rel in with_os, lambda rel: fstabs.get(rel, ""), default, candidates)


def test_fedora_prefers_the_subvolume_its_fstab_mounts():
    subvols = btrfs.parse_list(FEDORA)
    fstab = "UUID=x / btrfs subvol=root,compress=zstd:1 0 0\n"
    choice = choose(None, subvols, {"root-snap", "root"}, {"root-snap": fstab, "root": fstab})
    assert choice.subvolume == btrfs.Subvolume(257, "root")
    # without a deciding fstab, the first (lowest ID) that holds an OS
    assert choose(None, subvols, {"root-snap", "root"}).subvolume.path == "root-snap"


def test_opensuse_default_subvolume_first():
    subvols = btrfs.parse_list(SUSE)
    default = btrfs.Subvolume(260, "@/.snapshots/1/snapshot")
    choice = choose(default, subvols, {"@/.snapshots/1/snapshot", "@"})
    assert choice.subvolume == default and choice.looked_at == ["the default subvolume @/.snapshots/1/snapshot"]


def test_top_level_os_and_nothing_found():
    assert choose(None, btrfs.parse_list(FEDORA), {""}).subvolume == btrfs.TOP_LEVEL
    choice = choose(None, btrfs.parse_list(FEDORA), set())
    assert choice.subvolume is None
    assert choice.looked_at == ["the top level", "subvolume root-snap", "subvolume root", "subvolume home"]


def test_other_subvolumes_keep_their_kernel_options():
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.fstab import parse_fstab
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import _same_filesystem_mount
    home, root, snaps, bare = parse_fstab(
        "UUID=x /home btrfs subvol=home,compress=zstd:1,x-systemd.device-timeout=0,noatime,nofail 0 0\n"
        "UUID=x / btrfs subvol=root,compress=zstd:1 0 0\n"
        "UUID=x /.snapshots btrfs subvol=/@/.snapshots 0 0\n"
        "UUID=x /data btrfs defaults 0 0\n")
    assert _same_filesystem_mount(home, "subvol=/root") == ["subvol=home", "compress=zstd:1", "noatime"]
    assert _same_filesystem_mount(root, "subvol=root") is None  # the root itself
    assert _same_filesystem_mount(snaps, "subvol=/root") is None  # snapshots are not mounted
    assert _same_filesystem_mount(bare, "subvol=/root") is None  # no subvolume named: the default one
