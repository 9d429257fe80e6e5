# SPDX-License-Identifier: GPL-3.0-or-later
"""storage.py: the storage section parsed and validated with the reference's rules."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import storage as st
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

MIB = 1024 * 1024


def _layout(partitions=None, filesystems=None, **extra):
    parts = partitions if partitions is not None else [
        {"id": "esp", "type": "esp", "size": "8M"}, {"id": "root", "size": "grow"}]
    fss = filesystems if filesystems is not None else [
        {"deviceId": "esp", "type": "fat32", "mountPoint": {"path": "/boot/efi", "options": "umask=0077"}},
        {"deviceId": "root", "type": "ext4", "mountPoint": "/"}]
    return dict({"bootType": "efi", "disks": [{"partitionTableType": "gpt", "maxSize": "4G", "partitions": parts}],
                 "filesystems": fss}, **extra)


def test_valid_layout():
    got = st.parse_storage(_layout())
    disk = got.disks[0]
    assert disk.max_size == 4096 * MIB
    assert [(p.id, p.start, p.end) for p in disk.partitions] == [("esp", MIB, 9 * MIB), ("root", 9 * MIB, None)]
    assert got.filesystems[1].mount_point == st.MountPoint("/")  # the string form
    assert got.unsupported_key() == "storage.disks" and not got.empty


def test_default_is_empty():
    config = parse_config({})
    assert config.storage.empty and config.storage.unsupported_key() is None
    assert parse_config({"storage": {"reinitializeVerity": "none"}, "previewFeatures": ["reinitialize-verity"]}
                        ).storage.unsupported_key() is None


@pytest.mark.parametrize("storage,fragment", [
    (_layout(partitions=[{"id": "esp", "type": "esp", "size": "8M"}, {"id": "root", "start": "4M", "size": "1G"}]),
     "range overlaps partition's (root) range"),
    (_layout(partitions=[{"id": "esp", "type": "esp", "size": "grow"}, {"id": "root", "start": "9M", "size": "1G"}]),
     "partition (esp) is not last partition but size is set to \"grow\""),
    (_layout(partitions=[{"id": "esp", "type": "esp", "size": "grow"}, {"id": "root", "size": "1G"}]),
     "partition (root) omitted start value but previous partition (esp) has no size or end value"),
    (_layout(partitions=[{"id": "esp", "type": "esp", "size": "8M", "end": "9M"}, {"id": "root", "size": "1G"}]),
     "cannot specify both end and size on partition (esp)"),
    (_layout(filesystems=[{"deviceId": "nope", "type": "ext4"}]), "device (nope) not found"),
    (_layout(filesystems=[{"deviceId": "root", "mountPoint": "/"}]), "filesystem with 'mountPoint' must have a 'type'"),
    (_layout(filesystems=[{"deviceId": "esp", "type": "fat32", "mountPoint": "/boot/efi"},
                          {"deviceId": "root", "type": "ext4", "mountPoint": "/"},
                          {"deviceId": "root", "type": "ext4"}]), "device (root) is used by multiple things"),
    (_layout(filesystems=[{"deviceId": "esp", "type": "ext4", "mountPoint": "/boot/efi"}]),
     "ESP partition (esp) must have a 'fat32' or 'vfat' filesystem mounted at /boot/efi"),
    (_layout(partitions=[{"id": "root", "size": "grow"}], filesystems=[]), "'esp' partition must be provided"),
    (_layout(bootType="legacy"), "'bios-grub' partition must be provided for 'legacy' boot type"),
    (dict(_layout(), bootType=""), "must specify 'bootType' if 'disks' are specified"),
    ({"filesystems": [{"deviceId": "a", "type": "ext4"}]}, "cannot specify 'filesystems' without specifying 'disks'"),
    (dict(_layout(), resetPartitionsUuidsType="reset-all"), "cannot specify both 'resetPartitionsUuidsType' and 'disks'"),
    (_layout(partitions=[{"id": "esp", "type": "esp", "size": "8X"}]), "(8X) has incorrect format"),
    (_layout(partitions=[{"id": "esp", "type": "weird", "size": "8M"}]), "partition type is unknown and is not a UUID"),
    (dict(_layout(), disks=[{"maxSize": "1G", "partitions": []}, {"maxSize": "1G"}]),
     "defining multiple disks is not currently supported"),
    (_layout(partitions=[{"id": "esp", "type": "esp", "start": "0K", "size": "8M"}, {"id": "root", "size": "grow"}]),
     "reserved for the GPT header"),
    ({"bootType": "efi", "disks": [{"maxSize": "2M", "partitions": [{"id": "esp", "type": "esp", "size": "8M"}]}],
      "filesystems": [{"deviceId": "esp", "type": "vfat", "mountPoint": "/boot/efi"}]}, "but maxSize is only"),
    (_layout(filesystems=[{"deviceId": "root", "type": "ext4", "btrfs": {}}]),
     "'btrfs' configuration is only valid for 'btrfs' filesystems"),
    (_layout(filesystems=[{"deviceId": "esp", "type": "fat32", "mountPoint": "/boot/efi"},
                          {"deviceId": "root", "type": "ext4", "mountPoint": "/boot/efi"}]),
     "duplicate 'mountPoint.path' (/boot/efi)"),
    ({"bootType": "uefi"}, "invalid value (uefi)"),
    ({"verity": [{"id": "v", "name": "root", "dataDeviceId": "a"}]}, "exactly one of 'hashDeviceId' and 'hashDevice'"),
    ({"verity": [{"id": "v", "name": "Root", "dataDeviceId": "a", "hashDeviceId": "b"}]}, "invalid 'name' value (Root)"),
    ({"verity": [{"id": "v", "name": "root", "dataDeviceId": "a", "hashDeviceId": "b"}]},
     "cannot specify 'verity' with dataDeviceId/hashDeviceId without specifying 'disks'"),
])
def test_refused_as_the_reference(storage, fragment):
    with pytest.raises(ConfigError) as info:
        st.parse_storage(storage)
    assert fragment in str(info.value)


def test_btrfs_subvolumes():
    fss = [{"deviceId": "esp", "type": "fat32", "mountPoint": "/boot/efi"},
           {"deviceId": "root", "type": "btrfs", "btrfs": {"subvolumes": [
               {"path": "root", "mountPoint": "/", "quota": {"referencedLimit": "1G"}},
               {"path": "home", "mountPoint": {"path": "/home", "options": "compress=zstd"}}]}}]
    got = st.parse_storage(_layout(filesystems=fss))
    subs = got.filesystems[1].subvolumes
    assert [s.path for s in subs] == ["root", "home"] and subs[0].referenced_limit == 1024 * MIB
    bad = [dict(fss[1], btrfs={"subvolumes": [{"path": "/root"}]})]
    with pytest.raises(ConfigError, match="must be relative"):
        st.parse_storage(_layout(filesystems=[fss[0]] + bad))
    bad = [dict(fss[1], btrfs={"subvolumes": [{"path": "r", "mountPoint": {"path": "/", "options": "subvol=x"}}]})]
    with pytest.raises(ConfigError, match="'subvol=' and 'subvolid=' options are not allowed"):
        st.parse_storage(_layout(filesystems=[fss[0]] + bad))


def test_verity_on_partitions():
    parts = [{"id": "esp", "type": "esp", "size": "8M"}, {"id": "root", "size": "1G"}, {"id": "hash", "size": "64M"}]
    fss = [{"deviceId": "esp", "type": "fat32", "mountPoint": "/boot/efi"},
           {"deviceId": "verityroot", "type": "ext4", "mountPoint": {"path": "/", "options": "ro"}}]
    got = st.parse_storage(_layout(partitions=parts, filesystems=fss, verity=[
        {"id": "verityroot", "name": "root", "dataDeviceId": "root", "hashDeviceId": "hash",
         "corruptionOption": "panic"}]))
    assert got.verity[0].corruption_option == "panic" and got.unsupported_key() == "storage.disks"


def test_storage_is_in_config():
    with pytest.raises(ConfigError) as info:
        parse_config({"storage": {"resetPartitionsUuidsType": "reset-all"}})
    assert str(info.value).startswith("config.os.bootloader.resetType: must be specified if "
                                      "'storage.resetPartitionsUuidsType' is specified")
    with pytest.raises(ConfigError, match="must be specified if 'storage.disks' is specified"):
        parse_config({"storage": _layout()})


def test_boot_loader_reset_rule():
    layout = st.parse_storage(_layout())
    st.check_boot_loader_reset(layout, {"bootloader": {"resetType": "hard-reset"}})
    st.check_boot_loader_reset(st.StorageConfig(), None)
    with pytest.raises(ConfigError):
        st.check_boot_loader_reset(layout, {"bootloader": {}})
