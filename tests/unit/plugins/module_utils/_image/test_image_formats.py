# SPDX-License-Identifier: GPL-3.0-or-later
"""image_formats.py: export argv, format detection by content (qemu-img), extension mapping."""

import random
import shutil
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image import formats as imf

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) not installed")

MIB = 1024 * 1024


@pytest.mark.parametrize("fmt,expected", [
    ("raw", ["qemu-img", "convert", "-f", "raw", "-O", "raw", "/w/work.raw", "/o/out"]),
    ("qcow2", ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-W", "/w/work.raw", "/o/out"]),
    ("vhd", ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic", "/w/work.raw", "/o/out"]),
    ("vhd-fixed", ["qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
                   "/w/work.raw", "/o/out"]),
    ("vhdx", ["qemu-img", "convert", "-f", "raw", "-O", "vhdx", "/w/work.raw", "/o/out"]),
])
def test_export_argv(fmt, expected):
    assert imf.export_argv("/w/work.raw", fmt, "/o/out") == expected


def test_export_argv_covers_every_output_format():
    assert sorted(imf.OUTPUT_FORMATS) == ["qcow2", "raw", "vhd", "vhd-fixed", "vhdx"]
    for fmt in ("iso", "vmdk"):
        with pytest.raises(ValueError):
            imf.export_argv("a", fmt, "b")


def qemu_img(*args):
    subprocess.run(["qemu-img"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_is_iso9660(tmp_path):
    iso = tmp_path / "x.bin"
    blob = bytearray(0x9000)
    blob[0x8000:0x8006] = b"\x01CD001"
    iso.write_bytes(bytes(blob))
    assert imf.is_iso9660(str(iso)) is True
    blob[0x8001:0x8006] = b"CD002"
    iso.write_bytes(bytes(blob))
    assert imf.is_iso9660(str(iso)) is False
    short = tmp_path / "short"
    short.write_bytes(b"CD001")
    assert imf.is_iso9660(str(short)) is False
    assert imf.is_iso9660(str(tmp_path / "missing")) is False
    assert imf.is_iso9660(str(tmp_path)) is False


def test_inspect_iso(tmp_path):
    iso = tmp_path / "live.img"  # name says nothing: content decides
    blob = bytearray(0xA000)
    blob[0x8000:0x8006] = b"\x01CD001"
    iso.write_bytes(bytes(blob))
    info = imf.inspect_image(str(iso))
    assert (info.format, info.virtual_size, info.actual_size) == ("iso", 0xA000, 0xA000)


def test_inspect_missing(tmp_path):
    path = str(tmp_path / "nope.qcow2")
    with pytest.raises(ImageError) as info:
        imf.inspect_image(path)
    assert info.value.message == "input image %s does not exist or is not a regular file." % path


def test_inspect_directory(tmp_path):
    with pytest.raises(ImageError) as info:
        imf.inspect_image(str(tmp_path))
    assert "does not exist or is not a regular file" in str(info.value)


def test_inspect_empty(tmp_path):
    path = tmp_path / "empty.raw"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as info:
        imf.inspect_image(str(path))
    assert info.value.message == "input image %s is empty." % path


def test_inspect_random_bytes_is_raw(tmp_path):
    path = tmp_path / "noise.qcow2"  # the extension lies; content decides
    path.write_bytes(random.Random(20240601).getrandbits(8 * 65536).to_bytes(65536, "little"))
    info = imf.inspect_image(str(path))
    assert info.format == "raw"
    assert info.virtual_size == 65536


@pytest.mark.parametrize("qfmt,ours,opts", [
    ("raw", "raw", []),
    ("qcow2", "qcow2", []),
    ("vpc", "vhd", ["-o", "subformat=dynamic,force_size=on"]),  # no CHS rounding
    ("vhdx", "vhdx", []),
])
def test_inspect_formats(tmp_path, qfmt, ours, opts):
    path = str(tmp_path / "disk.img")
    qemu_img("create", "-f", qfmt, *opts, path, "4M")
    info = imf.inspect_image(path)
    assert info.format == ours
    assert info.virtual_size == 4 * MIB
    assert info.path == path


def test_inspect_backing_file(tmp_path):
    base = str(tmp_path / "base.raw")
    overlay = str(tmp_path / "overlay.qcow2")
    qemu_img("create", "-f", "raw", base, "1M")
    qemu_img("create", "-f", "qcow2", "-b", base, "-F", "raw", overlay)
    with pytest.raises(ImageError) as info:
        imf.inspect_image(overlay)
    assert info.value.message == "input image %s has a backing file (%s)." % (overlay, base)
    assert "Flatten it first: qemu-img convert -O qcow2 %s flat.qcow2" % overlay == info.value.hint


def test_inspect_unreadable_qcow2(tmp_path):
    path = tmp_path / "bad.qcow2"
    path.write_bytes(b"QFI\xfb\x00\x00\x00\x03" + b"\x00" * 1024)
    with pytest.raises(ImageError) as info:
        imf.inspect_image(str(path))
    assert info.value.message.startswith("cannot read input image %s: " % path)
    assert "raw, qcow2, vhd or vhdx" in info.value.hint


@pytest.mark.parametrize("path,fmt", [
    ("/x/disk.raw", "raw"),
    ("/x/disk.img", "raw"),
    ("/x/disk.qcow2", "qcow2"),
    ("/x/DISK.QCOW2", "qcow2"),
    ("/x/disk.vhd", "vhd"),
    ("/x/disk.vhdx", "vhdx"),
    ("/x/live.iso", "iso"),
    ("/x/disk.tar.gz", None),
    ("/x/disk", None),
    ("/x.qcow2/disk", None),
])
def test_format_from_extension(path, fmt):
    assert imf.format_from_extension(path) == fmt


def test_export_and_reinspect_round_trip(tmp_path):
    raw = tmp_path / "work.raw"
    raw.write_bytes(b"\x55" * MIB)
    for fmt, ours in (("qcow2", "qcow2"), ("vhdx", "vhdx"), ("vhd", "vhd")):
        dest = str(tmp_path / ("out-" + fmt))
        imf.export_image(str(raw), fmt, dest)
        assert imf.inspect_image(dest).format == ours


def test_inspect_fixed_vhd(tmp_path):
    path = str(tmp_path / "fixed.vhd")
    qemu_img("create", "-f", "vpc", "-o", "subformat=fixed,force_size=on", path, "4M")
    with open(path, "rb") as handle:
        handle.seek(-512, 2)
        assert handle.read(8) == b"conectix"
    info = imf.inspect_image(path)
    assert (info.format, info.virtual_size) == ("vhd", 4 * MIB)


def test_image_format_enum():
    assert imf.ImageFormat("vhd-fixed") is imf.ImageFormat.VHD_FIXED
    assert imf.ImageFormat.VHD_FIXED.qemu_format == "vpc"
    assert imf.ImageFormat.VHD_FIXED.qemu_options == ("subformat=fixed", "force_size=on")
    assert not imf.ImageFormat.ISO.is_output and imf.ImageFormat.QCOW2.is_output
    assert imf.ImageFormat.from_qemu("vpc") is imf.ImageFormat.VHD and imf.ImageFormat.from_qemu("vmdk") is None
    assert imf.ImageFormat.from_qemu(None) is None
    assert imf.export_argv("/w", imf.ImageFormat.QCOW2, "/o") == imf.export_argv("/w", "qcow2", "/o")
