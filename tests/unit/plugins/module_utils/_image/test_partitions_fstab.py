# SPDX-License-Identifier: GPL-3.0-or-later
"""partitions.py / image_mounts.py: sfdisk JSON, fstab parsing, finding the partition an fstab line names."""

import json

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fstab import find_partition, parse_fstab
from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition, parse_sfdisk_json

ESP_TYPES = {"c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "ef"}


def is_esp(partition):
    """Is ``partition`` an EFI system partition, by its type or its FAT label (the table's types checked here)?"""
    return partition.type_id in ESP_TYPES or (partition.fstype == "vfat" and partition.label.upper() in ("ESP", "EFI"))


GPT = {
    "partitiontable": {
        "label": "gpt",
        "id": "5B0D7E4F-6B0B-4E4C-9A44-4D4A1E4A1A11",
        "device": "/var/tmp/.liveiso-build-x/work.raw",
        "unit": "sectors",
        "firstlba": 34,
        "lastlba": 4194270,
        "sectorsize": 512,
        "partitions": [
            {"node": "/var/tmp/.liveiso-build-x/work.raw1", "start": 2048, "size": 2048,
             "type": "21686148-6449-6E6F-744E-656564454649", "uuid": "11111111-AAAA-4BBB-8CCC-000000000001",
             "name": "bios"},
            {"node": "/var/tmp/.liveiso-build-x/work.raw15", "start": 4096, "size": 260096,
             "type": "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "uuid": "22222222-AAAA-4BBB-8CCC-000000000002",
             "name": "EFI System"},
            {"node": "/var/tmp/.liveiso-build-x/work.raw2", "start": 264192, "size": 3930079,
             "type": "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "uuid": "33333333-AAAA-4BBB-8CCC-000000000003",
             "name": "root", "attrs": "LegacyBIOSBootable"},
        ],
    }
}

DOS = {
    "partitiontable": {
        "label": "dos", "id": "0xdeadbeef", "device": "disk.img", "unit": "sectors", "sectorsize": 4096,
        "partitions": [
            {"node": "disk.img1", "start": 256, "size": 32768, "type": "ef", "bootable": True},
            {"node": "disk.img2", "start": 33024, "size": 100000, "type": "83"},
        ],
    }
}


def test_parse_sfdisk_json_gpt():
    label, parts = parse_sfdisk_json(json.dumps(GPT))
    assert label == "gpt"
    assert [p.number for p in parts] == [1, 15, 2]
    assert [p.offset for p in parts] == [2048 * 512, 4096 * 512, 264192 * 512]
    assert [p.size for p in parts] == [2048 * 512, 260096 * 512, 3930079 * 512]
    assert parts[1].type_id == "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
    assert parts[1].partuuid == "22222222-aaaa-4bbb-8ccc-000000000002"
    assert [p.partlabel for p in parts] == ["bios", "EFI System", "root"]
    assert [is_esp(p) for p in parts] == [False, True, False]
    assert (parts[2].fstype, parts[2].uuid, parts[2].label) == ("", "", "")


def test_parse_sfdisk_json_dos_4k_sectors():
    label, parts = parse_sfdisk_json(json.dumps(DOS))
    assert label == "dos"
    assert [(p.number, p.offset, p.size) for p in parts] == [(1, 256 * 4096, 32768 * 4096),
                                                             (2, 33024 * 4096, 100000 * 4096)]
    assert is_esp(parts[0]) and not is_esp(parts[1])
    assert parts[0].partuuid == "" and parts[0].partlabel == ""


def test_parse_sfdisk_json_nvme_style_nodes_and_missing_node():
    table = {"partitiontable": {"label": "gpt", "partitions": [
        {"node": "/dev/nvme0n1p12", "start": 1, "size": 2},
        {"start": 3, "size": 4},
        {"node": "/dev/loop7p3", "start": 5, "size": 6},
    ]}}
    parts = parse_sfdisk_json(json.dumps(table))[1]
    assert [p.number for p in parts] == [12, 2, 3]
    assert [p.offset for p in parts] == [512, 3 * 512, 5 * 512]  # default sector size


@pytest.mark.parametrize("text", ["", "not json", "{}", '{"table": {}}'])
def test_parse_sfdisk_json_invalid(text):
    with pytest.raises(ImageError) as info:
        parse_sfdisk_json(text)
    assert "cannot parse the partition table" in str(info.value)


def test_esp_by_filesystem_label():
    p = Partition(1, 0, 0, type_id="0700")
    p.fstype, p.label = "vfat", "efi"
    assert is_esp(p)
    p.fstype = "ext4"
    assert not is_esp(p)


@pytest.fixture
def part():
    p = Partition(2, 1048576, 1 << 30, type_id="0FC63DAF-8483-4772-8E79-3D69D8477DE4",
                  partuuid="33333333-AAAA-4BBB-8CCC-000000000003", partlabel="root")
    p.fstype, p.uuid, p.label = "ext4", "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", "cloudimg-rootfs"
    return p


@pytest.mark.parametrize("spec,expected", [
    ("UUID=0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", True),
    ("UUID=0B1C2D3E-AAAA-BBBB-CCCC-0123456789AB", True),
    ('UUID="0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"', True),
    ("uuid=0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", True),
    ("UUID=0b1c2d3e-aaaa-bbbb-cccc-000000000000", False),
    ("LABEL=cloudimg-rootfs", True),
    ("LABEL=CLOUDIMG-ROOTFS", False),  # labels are case-sensitive
    ("PARTUUID=33333333-aaaa-4bbb-8ccc-000000000003", True),
    ("PARTUUID=33333333-AAAA-4BBB-8CCC-000000000003", True),
    ("PARTUUID=33333333-aaaa-4bbb-8ccc-000000000004", False),
    ("PARTLABEL=root", True),
    ("PARTLABEL=Root", False),
    ("/dev/sda2", False),
    ("ID=foo", False),
])
def test_partition_matches(part, spec, expected):
    assert part.matches(spec) is expected


def test_partition_with_empty_ids_matches_nothing():
    p = Partition(1, 0, 0)
    for spec in ("UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="):
        assert p.matches(spec) is False


FSTAB = r"""# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=0b1c2d3e-aaaa-bbbb-cccc-0123456789ab /               ext4    errors=remount-ro 0       1
   # indented comment
LABEL=UEFI	/boot/efi	vfat	umask=0077	0 1

PARTLABEL=My\040Data /srv/my\040data xfs defaults,noatime 0 2
/dev/vda3 none swap sw 0 0
tmpfs /tmp tmpfs
broken-line-with-two fields
"""


def test_parse_fstab():
    entries = parse_fstab(FSTAB)
    assert [(e.spec, e.mountpoint, e.fstype, e.options) for e in entries] == [
        ("UUID=0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", "/", "ext4", ["errors=remount-ro"]),
        ("LABEL=UEFI", "/boot/efi", "vfat", ["umask=0077"]),
        ("PARTLABEL=My Data", "/srv/my data", "xfs", ["defaults", "noatime"]),
        ("/dev/vda3", "none", "swap", ["sw"]),
        ("tmpfs", "/tmp", "tmpfs", ["defaults"]),
    ]
    assert parse_fstab("") == []
    assert parse_fstab(r"/dev/sda1 /a\011b ext4 defaults 0 0")[0].mountpoint == "/a\tb"


@pytest.fixture
def parts():
    result = parse_sfdisk_json(json.dumps(GPT))[1]
    result[1].fstype, result[1].uuid, result[1].label = "vfat", "ABCD-1234", "UEFI"
    result[2].fstype, result[2].uuid, result[2].label = "ext4", "0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", "rootfs"
    return result


@pytest.mark.parametrize("spec,number", [
    ("UUID=0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", 2),
    ("/dev/disk/by-uuid/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab", 2),
    ("/dev/disk/by-uuid/ABCD-1234", 15),
    ("/dev/disk/by-label/UEFI", 15),
    ("/dev/disk/by-partuuid/22222222-aaaa-4bbb-8ccc-000000000002", 15),
    ("/dev/disk/by-partlabel/EFI System", 15),
    ("PARTLABEL=bios", 1),
    ("LABEL=rootfs", 2),
    ("/dev/vda2", 2),
    ("/dev/sda15", 15),
    ("/dev/nvme0n1p1", 1),
    ("/dev/xvda2", 2),
])
def test_find_partition(parts, spec, number):
    found = find_partition(parts, spec)
    assert found is not None and found.number == number


@pytest.mark.parametrize("spec", [
    "UUID=ffffffff-0000-0000-0000-000000000000",
    "/dev/disk/by-uuid/ffffffff-0000-0000-0000-000000000000",
    "/dev/disk/by-label/NOPE",
    "/dev/vda7",
    "/dev/mapper/vg-root",
    "/dev/sda",
    "tmpfs",
    "server:/export",
])
def test_find_partition_unknown(parts, spec):
    assert find_partition(parts, spec) is None


def test_mount_modes():
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import MountMode
    assert MountMode("rw") is MountMode.RW and MountMode(MountMode.OVERLAY) is MountMode.OVERLAY
    assert [m.lower_read_only for m in MountMode] == [False, True, True]
    assert "%s" % MountMode.OVERLAY == "overlay" and MountMode.RO == "ro"
    with pytest.raises(ValueError):
        MountMode("rx")
