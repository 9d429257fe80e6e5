# SPDX-License-Identifier: GPL-3.0-or-later
"""partition_tables.fit: a hybrid ISO's MBR and GPT fitted to the grown image, checked by sfdisk and fdisk."""

import json
import os
import shutil
import struct
import subprocess
import zlib

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import partition_tables as tables

SFDISK = shutil.which("sfdisk", path=clean_env()["PATH"])
needs_sfdisk = pytest.mark.skipif(SFDISK is None, reason="needs sfdisk (util-linux)")
MIB = 1 << 20


def sfdisk(*argv, stdin=None):
    return subprocess.run(["sfdisk"] + list(argv), input=stdin, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, env=clean_env()).stdout


def xorriso_like(path, size):
    """A GPT as xorriso lays one out: a small gap, an ESP, the ISO data up to one sector before the last usable
    LBA, the backup GPT in the last sectors; a protective MBR over the whole image."""
    with open(path, "wb") as handle:
        handle.truncate(size)
    sectors = size // 512
    last = sectors - 34  # sfdisk's last usable LBA with 128 entries
    sfdisk("--no-reread", "--no-tell-kernel", "-q", path, stdin="label: gpt\nfirst-lba: 64\n"
           "start=64, size=100, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n"
           "start=164, size=2000, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
           "start=2164, size=%d, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n" % (last - 1 - 2164 + 1))
    return path


def grow(path, to):
    with open(path, "r+b") as handle:
        handle.truncate(to)


def table(path):
    return json.loads(sfdisk("-J", path))["partitiontable"]


def assert_clean(path):
    for argv in (["sfdisk", "--verify", path], ["sfdisk", "-l", path], ["fdisk", "-l", path]):
        out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, env=clean_env()).stdout
        for word in ("mismatch", "not on the end", "corrupt", "Warning", "invalid"):
            assert word not in out, out


@needs_sfdisk
def test_grown_gpt_is_fitted(tmp_path):
    path = xorriso_like(str(tmp_path / "a.iso"), 8 * MIB)
    before = table(path)
    with open(path, "rb") as handle:
        old = handle.read()
    grow(path, 11 * MIB)
    out = subprocess.run(["fdisk", "-l", path], check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, env=clean_env()).stdout
    assert "backup GPT table is not on the end" in out  # the problem this fixes
    writes = tables.fit_file(path, len(old))
    assert [offset for offset, data in writes] == [0, 11 * MIB - 33 * 512]
    assert_clean(path)
    after = table(path)
    assert after["id"] == before["id"] and after["lastlba"] == before["lastlba"] + 3 * MIB // 512
    assert after["partitions"][:2] == before["partitions"][:2]  # the gap and the ESP are where they were
    data = before["partitions"][2]
    assert after["partitions"][2] == dict(data, size=data["size"] + 3 * MIB // 512)
    with open(path, "rb") as handle:
        new = handle.read()
    assert new[:440] == old[:440]  # boot code
    assert new[4 * 512:8 * MIB - 33 * 512] == old[4 * 512:8 * MIB - 33 * 512]  # partition data untouched
    assert new[446 + 4] == 0xEE and struct.unpack_from("<II", new, 446 + 8) == (1, 11 * MIB // 512 - 1)


@needs_sfdisk
def test_fitted_twice_in_a_row(tmp_path):
    path = xorriso_like(str(tmp_path / "a.iso"), 4 * MIB)
    for size in (5 * MIB, 9 * MIB):
        old = os.path.getsize(path)
        grow(path, size)
        assert tables.fit_file(path, old)
        assert_clean(path)
    assert table(path)["partitions"][2]["start"] + table(path)["partitions"][2]["size"] == 9 * MIB // 512 - 34


def test_isohybrid_mbr_partition_reaching_the_end_grows():
    """isohybrid's MBR: partition 1 from sector 0 over the whole ISO (type 0x17 here), and one that does not
    reach the end (left as it is)."""
    head = bytearray(65536)
    head[510:512] = b"\x55\xaa"
    head[446] = 0x80
    head[446 + 4] = 0x17
    struct.pack_into("<II", head, 446 + 8, 0, 8192)
    head[462 + 4] = 0xEF
    struct.pack_into("<II", head, 462 + 8, 100, 200)
    new_head, writes = tables.fit(bytes(head), 4 * MIB, 6 * MIB)
    assert writes == []
    assert struct.unpack_from("<II", new_head, 446 + 8) == (0, 6 * MIB // 512)
    assert new_head[462:478] == head[462:478]
    assert new_head[:446] == head[:446] and new_head[478:] == head[478:]


def test_no_table_no_change(tmp_path):
    head = bytes(65536)
    assert tables.fit(head, 4 * MIB, 6 * MIB) == (head, [])


def test_not_grown_no_change():
    head = b"\x00" * 510 + b"\x55\xaa" + bytes(65536 - 512)
    assert tables.fit(head, 6 * MIB, 6 * MIB) == (head, [])
    assert tables.fit(head, 6 * MIB, 4 * MIB) == (head, [])
    assert tables.fit(head, 6 * MIB, 6 * MIB + 100) == (head, [])  # not whole sectors


@needs_sfdisk
def test_gpt_with_a_bad_crc_is_left_alone(tmp_path):
    path = xorriso_like(str(tmp_path / "a.iso"), 4 * MIB)
    with open(path, "r+b") as handle:
        handle.seek(512 + 48)
        handle.write(struct.pack("<Q", 12345))  # last usable LBA changed, CRC not
        handle.seek(0)
        head = handle.read(65536)
    new_head, writes = tables.fit(head, 4 * MIB, 6 * MIB)
    assert writes == []
    assert new_head[512:1024] == head[512:1024]  # the GPT untouched; only the protective MBR entry grows
    assert struct.unpack_from("<II", new_head, 446 + 8) == (1, 6 * MIB // 512 - 1)


@needs_sfdisk
def test_backup_header_mirrors_the_primary(tmp_path):
    path = xorriso_like(str(tmp_path / "a.iso"), 4 * MIB)
    old = os.path.getsize(path)
    grow(path, 7 * MIB)
    tables.fit_file(path, old)
    with open(path, "rb") as handle:
        data = handle.read()
    primary, backup = data[512:512 + 92], data[-512:-512 + 92]
    assert backup[:8] == b"EFI PART"
    p_current, p_alt = struct.unpack_from("<QQ", primary, 24)
    b_current, b_alt = struct.unpack_from("<QQ", backup, 24)
    assert (p_current, p_alt) == (b_alt, b_current) == (1, 7 * MIB // 512 - 1)
    assert struct.unpack_from("<Q", backup, 72)[0] == 7 * MIB // 512 - 33
    for header in (primary, backup):
        zeroed = header[:16] + bytes(4) + header[20:]
        assert zlib.crc32(zeroed) == struct.unpack_from("<I", header, 16)[0]


def test_mbr_size_capped():
    head = bytearray(65536)
    head[510:512] = b"\x55\xaa"
    head[446 + 4] = 0xEE
    struct.pack_into("<II", head, 446 + 8, 1, 8191)
    new_head, writes = tables.fit(bytes(head), 4 * MIB, 4 * MIB + (1 << 42))
    assert writes == [] and struct.unpack_from("<I", new_head, 446 + 12)[0] == 0xFFFFFFFF
