# SPDX-License-Identifier: GPL-3.0-or-later
"""iso_media.py: xorriso argv, and reading, extracting and remastering small ISOs made with the real xorriso."""

import json
import os
import re
import shutil
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import ecma119
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import partition_tables
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso as iso_media
from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader, media


def volume_label(iso):
    """The volume id of an ISO as xorriso reads it, or None for a file that is not ISO 9660 (a test helper: the
    library has no use for it)."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import is_iso9660
    if not is_iso9660(iso):
        return None
    result = subprocess.run(["xorriso", "-indev", iso, "-pvd_info"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("Volume Id"):
            return line.split(":", 1)[1].strip()
    return None


BASE = ["xorriso", "-as", "mkisofs", "-iso-level", "3", "-full-iso9660-filenames", "-volid", "LIVE_X",
        "-joliet", "-joliet-long", "-rational-rock", "-graft-points"]
BIOS = ["-eltorito-boot", "boot/grub/bios.img", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
        "--grub2-boot-info", "--grub2-mbr", "/usr/lib/grub/i386-pc/boot_hybrid.img"]
UEFI = ["-e", "boot/grub/efiboot.img", "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
        "--protective-msdos-label"]
GRAFTS = [("/boot/grub/bios.img", "/w/bios.img"), ("/boot/grub/efiboot.img", "/w/efiboot.img"),
          ("/a=b.txt", "/w/dir\\x=y")]
GRAFT_ARGS = ["/boot/grub/bios.img=/w/bios.img", "/boot/grub/efiboot.img=/w/efiboot.img",
              "/a\\=b.txt=/w/dir\\\\x\\=y"]


@pytest.mark.parametrize("path,escaped", [
    ("/plain/path", "/plain/path"),
    ("/a=b", "/a\\=b"),
    ("/back\\slash", "/back\\\\slash"),
    ("/both\\=", "/both\\\\\\="),
    ("", ""),
])
def test_graft_escape(path, escaped):
    assert iso_media.graft_escape(path) == escaped


def test_mkisofs_argv_bios_uefi():
    argv = iso_media.mkisofs_argv("/o/out.iso", "LIVE_X", GRAFTS, ("bios", "uefi"), "/boot/grub/bios.img",
                                  "/boot/grub/efiboot.img")
    assert argv == BASE + BIOS + ["-eltorito-alt-boot"] + UEFI + ["-output", "/o/out.iso"] + GRAFT_ARGS


def test_mkisofs_argv_uefi_only():
    argv = iso_media.mkisofs_argv("/o/out.iso", "LIVE_X", GRAFTS[1:], ("uefi",), None, "/boot/grub/efiboot.img")
    assert argv == BASE + UEFI + ["-output", "/o/out.iso"] + GRAFT_ARGS[1:]
    assert "-eltorito-alt-boot" not in argv and "--grub2-mbr" not in argv


def test_mkisofs_argv_bios_only():
    argv = iso_media.mkisofs_argv("/o/out.iso", "LIVE_X", GRAFTS[:1], ("bios",), "/boot/grub/bios.img", None)
    assert argv == BASE + BIOS + ["-output", "/o/out.iso"] + GRAFT_ARGS[:1]


def test_mkisofs_argv_order_of_modes_does_not_matter():
    one = iso_media.mkisofs_argv("/o.iso", "L", [], ("bios", "uefi"), "/b.img", "/e.img")
    two = iso_media.mkisofs_argv("/o.iso", "L", [], ("uefi", "bios"), "/b.img", "/e.img")
    assert one == two


def test_remaster_argv_separate_devices():
    argv = iso_media.remaster_argv("/in.iso", "/out.iso", "NEW_LABEL", [("/h/grub.cfg", "/boot/grub/grub.cfg"),
                                                                        ("/h/c.json", "/liveiso/config.json")],
                                   removals=["/old", "/x y"])
    assert argv == ["xorriso", "-report_about", "WARNING", "-stdio_sync", "off", "-indev", "/in.iso", "-outdev", "/out.iso",
                    "-volid", "NEW_LABEL", "-joliet", "on", "-rockridge", "on",
                    "-rm_r", "/old", "--", "-rm_r", "/x y", "--",
                    "-map", "/h/grub.cfg", "/boot/grub/grub.cfg", "-map", "/h/c.json", "/liveiso/config.json",
                    "-boot_image", "any", "replay", "-commit"]


def test_remaster_argv_in_place():
    argv = iso_media.remaster_argv("/same.iso", "/same.iso", "L", [("/h/f", "/f")])
    assert argv == ["xorriso", "-report_about", "WARNING", "-stdio_sync", "off", "-dev", "/same.iso", "-volid", "L", "-joliet", "on",
                    "-rockridge", "on", "-map", "/h/f", "/f", "-boot_image", "any", "replay", "-commit"]
    assert "-indev" not in argv and "-outdev" not in argv


def test_remaster_argv_in_place_with_system_area():
    argv = iso_media.remaster_argv("/same.iso", "/same.iso", "L", [], system_area="/w/sa.bin")
    # replayed El Torito first, then the System Area written back verbatim (no GPT made anew)
    assert argv[-11:] == ["-boot_image", "any", "replay", "-boot_image", "any", "efi_boot_part=",
                          "-boot_image", "any", "partition_table=off", "-boot_image", "any",
                          "system_area=/w/sa.bin", "-commit"][-11:]
    assert argv[-1] == "-commit" and argv.index("replay") < argv.index("system_area=/w/sa.bin")


def test_remaster_argv_grow_blindly():
    """Only the new session, into a work file, addressed at the input's append block."""
    argv = iso_media.remaster_argv("/in.iso", "/w/session", "L", [("/h/f", "/f")], system_area="/w/sa",
                                   grow_at=185760)
    assert argv[5:12] == ["-indev", "/in.iso", "-outdev", "stdio:/w/session", "-grow_blindly", "185760", "-volid"]
    assert "-dev" not in argv and "system_area=/w/sa" in argv


def test_remaster_argv_nothing_to_change():
    assert iso_media.remaster_argv("/a.iso", "/b.iso", "L", []) == [
        "xorriso", "-report_about", "WARNING", "-stdio_sync", "off", "-indev", "/a.iso", "-outdev", "/b.iso", "-volid", "L",
        "-joliet", "on", "-rockridge", "on", "-boot_image", "any", "replay", "-commit"]


@pytest.mark.parametrize("label,valid", [
    ("A", True), ("LIVE_9F86D08188", True), ("a-b_C-9", True), ("X" * 32, True),
    ("", False), ("X" * 33, False), ("has space", False), ("dot.ted", False), ("sl/ash", False),
    ("\u00c4BC", False), ("tab\tx", False),
])
def test_label_re(label, valid):
    assert bool(media.LABEL_RE.match(label)) is valid


def test_label_re_trailing_newline():
    assert media.LABEL_RE.match("LIVE\n") is None


def test_constants():
    assert media.SAVED_CONFIG == "/liveiso/config.json"
    assert media.ROOTFS == "/liveos/rootfs.img"
    assert media.MIC_GRUB_CFG == "/boot/grub2/grub.cfg"


# ---------------------------------------------------------------- real ISOs

XORRISO = shutil.which("xorriso", path=clean_env()["PATH"])
needs_xorriso = pytest.mark.skipif(XORRISO is None, reason="xorriso is not installed (apt-get install xorriso)")


def make_tree(root, files):
    """Create ``files`` {relative path: bytes or text} below ``root``."""
    os.makedirs(str(root), exist_ok=True)
    for rel, data in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode())
    return str(root)


def make_iso(tmp_path, name, files, label="TEST"):
    tree = make_tree(tmp_path / (name + ".d"), files)
    iso = str(tmp_path / (name + ".iso"))
    # written to stdout: xorriso's own -o polls its writer and often idles up to a second
    with open(iso, "wb") as handle:
        subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-V", label, "-o", "-", tree], check=True,
                       stdout=handle, stderr=subprocess.PIPE, env=clean_env())
    return iso


@pytest.fixture(scope="module")
def plain_iso(tmp_path_factory):
    """A small ISO shared by the tests that only read it."""
    if XORRISO is None:
        pytest.skip("xorriso is not installed (apt-get install xorriso)")
    return make_iso(tmp_path_factory.mktemp("plain"), "plain", {
        "README": "hello\n", "sub/a.txt": "A\n", "sub/it's.txt": "quote\n", "sub/deep/b.bin": b"\x00\x01\x02"})


@pytest.fixture
def plain_copy(plain_iso, tmp_path):
    """A private copy of the plain ISO, for tests that change it."""
    copy = str(tmp_path / "plain-copy.iso")
    shutil.copyfile(plain_iso, copy)
    return copy


@needs_xorriso
def test_list_files(plain_iso):
    assert sorted(iso_media.list_files(plain_iso)) == ["/README", "/sub/a.txt", "/sub/deep/b.bin", "/sub/it's.txt"]
    assert sorted(iso_media.list_files(plain_iso, "/sub/deep")) == ["/sub/deep/b.bin"]


@needs_xorriso
def test_list_files_unreadable(tmp_path):
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\x00" * 100000)
    assert iso_media.list_files(str(junk)) == []
    assert iso_media.list_files(str(tmp_path / "missing.iso")) == []


@needs_xorriso
def test_read_text(plain_iso, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    assert iso_media.read_text(plain_iso, "/README", str(work)) == "hello\n"
    assert iso_media.read_text(plain_iso, "/sub/it's.txt", str(work)) == "quote\n"
    assert iso_media.read_text(plain_iso, "/no/such/file", str(work)) is None
    assert iso_media.read_text(plain_iso, "/sub/deep", str(work)) is None  # a directory is not text
    assert os.listdir(str(work)) == ["extract-_sub_deep"]  # the files read were removed again


@needs_xorriso
def test_volume_label(plain_iso, tmp_path):
    assert volume_label(plain_iso) == "TEST"
    assert volume_label(make_iso(tmp_path, "other", {"x": "x"}, label="LIVE_ABC-1")) == "LIVE_ABC-1"


@needs_xorriso
def test_volume_label_not_an_iso(tmp_path):
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\x00" * 100000)
    assert volume_label(str(junk)) is None
    assert volume_label(str(tmp_path / "missing.iso")) is None


@needs_xorriso
def test_extract(plain_iso, tmp_path):
    dest = iso_media.extract(plain_iso, "/sub/deep/b.bin", str(tmp_path / "b.bin"))
    assert dest == str(tmp_path / "b.bin")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01\x02"
    iso_media.extract(plain_iso, "/sub", str(tmp_path / "sub-copy"))
    assert (tmp_path / "sub-copy" / "a.txt").read_text() == "A\n"
    assert (tmp_path / "sub-copy" / "deep" / "b.bin").read_bytes() == b"\x00\x01\x02"
    with pytest.raises(CommandError) as info:
        iso_media.extract(plain_iso, "/nope", str(tmp_path / "nope"))
    assert "reading /nope from the ISO" in str(info.value)


@needs_xorriso
def test_open_live_iso_not_live(plain_iso, tmp_path):
    with pytest.raises(ImageError) as info:
        media.open_live_iso(plain_iso, str(tmp_path))
    assert "not a Live OS ISO" in str(info.value)
    assert "/liveos/rootfs.img" in str(info.value)


@needs_xorriso
def test_open_live_iso_empty(tmp_path):
    iso = make_iso(tmp_path, "empty", {}, label="E")
    assert iso_media.list_files(iso) == []
    with pytest.raises(ImageError) as info:
        media.open_live_iso(iso, str(tmp_path))
    assert "xorriso cannot read any file" in str(info.value)


@needs_xorriso
def test_open_live_iso_mic(tmp_path):
    iso = make_iso(tmp_path, "mic", {"liveos/rootfs.img": b"squash", "boot/grub2/grub.cfg": "linux /x quiet\n"})
    live = media.open_live_iso(iso, str(tmp_path))
    assert live.flavour == "mic"
    assert live.saved is None
    assert live.path == iso
    assert sorted(live.files) == ["/boot/grub2/grub.cfg", "/liveos/rootfs.img"]


@needs_xorriso
def test_open_live_iso_ours(tmp_path):
    saved = {"format": 1, "boot_id": "0123456789abcdef", "extra_args": ["quiet", "ds=nocloud;s=file:///x/"],
             "additional_files": {"/f": "00"}}
    iso = make_iso(tmp_path, "ours", {"liveos/rootfs.img": b"squash", "liveiso/config.json": json.dumps(saved)})
    work = tmp_path / "work"
    work.mkdir()
    live = media.open_live_iso(iso, str(work))
    assert live.flavour == "liveiso"
    assert live.saved == media.SavedConfig.from_json(saved)
    assert (live.saved.boot_id, live.saved.extra_args) == ("0123456789abcdef", saved["extra_args"])
    assert "/liveiso/config.json" in live.files and "/liveos/rootfs.img" in live.files
    assert os.listdir(str(work)) == []


@needs_xorriso
def test_open_live_iso_saved_config_without_rootfs(tmp_path):
    """The saved config alone decides the flavour."""
    iso = make_iso(tmp_path, "cfgonly", {"liveiso/config.json": "{}"})
    live = media.open_live_iso(iso, str(tmp_path))
    assert (live.flavour, live.saved) == ("liveiso", media.SavedConfig())


@needs_xorriso
@pytest.mark.parametrize("text", ["{not json", ""])
def test_open_live_iso_bad_saved_config(tmp_path, text):
    iso = make_iso(tmp_path, "bad", {"liveos/rootfs.img": b"squash", "liveiso/config.json": text})
    with pytest.raises(ImageError) as info:
        media.open_live_iso(iso, str(tmp_path))
    assert "unreadable /liveiso/config.json" in str(info.value)
    assert "Rebuild it from its disk image." in str(info.value)


@needs_xorriso
def test_remaster_to_new_file(plain_iso, tmp_path):
    host = make_tree(tmp_path / "host", {"config.json": '{"boot_id": "b"}', "a2.txt": "A2\n"})
    for name in ("config.json", "a2.txt"):
        os.utime(os.path.join(host, name), (1700000000, 1700000000))
    mappings = [(os.path.join(host, "config.json"), "/liveiso/config.json"),
                (os.path.join(host, "a2.txt"), "/sub/a.txt")]
    with open(plain_iso, "rb") as handle:
        original = handle.read()
    outputs = []
    for name in ("out1.iso", "out2.iso"):
        out = str(tmp_path / name)
        iso_media.remaster(plain_iso, out, "NEW_LABEL", mappings, removals=["/sub/deep"],
                           source_date_epoch=1700000000)
        with open(out, "rb") as handle:
            outputs.append(handle.read())
    assert outputs[0] == outputs[1]  # reproducible with source_date_epoch
    out = str(tmp_path / "out1.iso")
    assert volume_label(out) == "NEW_LABEL"
    assert sorted(iso_media.list_files(out)) == ["/README", "/liveiso/config.json", "/sub/a.txt", "/sub/it's.txt"]
    work = str(tmp_path)
    assert iso_media.read_text(out, "/sub/a.txt", work) == "A2\n"
    assert iso_media.read_text(out, "/README", work) == "hello\n"
    assert iso_media.read_text(out, "/liveiso/config.json", work) == '{"boot_id": "b"}'
    # the input is untouched
    with open(plain_iso, "rb") as handle:
        assert handle.read() == original
    assert volume_label(plain_iso) == "TEST"


@needs_xorriso
def test_remaster_in_place(plain_copy, tmp_path):
    host = make_tree(tmp_path / "host", {"new.txt": "new\n"})
    size = os.path.getsize(plain_copy)
    iso_media.remaster(plain_copy, plain_copy, "GROWN", [(os.path.join(host, "new.txt"), "/extra/new.txt")])
    assert os.path.getsize(plain_copy) > size  # grown: a new session appended
    assert volume_label(plain_copy) == "GROWN"
    assert sorted(iso_media.list_files(plain_copy)) == ["/README", "/extra/new.txt", "/sub/a.txt",
                                                        "/sub/deep/b.bin", "/sub/it's.txt"]
    assert iso_media.read_text(plain_copy, "/extra/new.txt", str(tmp_path)) == "new\n"
    assert iso_media.read_text(plain_copy, "/sub/a.txt", str(tmp_path)) == "A\n"


# ---------------------------------------------------------------- a real hybrid ISO with our boot images

TOOLS = ("grub-mkimage", "mkfs.vfat", "mmd", "mcopy")
MISSING = [tool for tool in TOOLS if not shutil.which(tool, path=clean_env()["PATH"])]


def write_hybrid(tmp_path, name, boot_modes, label=None):
    work = tmp_path / (name + "-work")
    work.mkdir()
    epoch = 1700000000
    grafts = []
    if "bios" in boot_modes:
        grafts.append(("/boot/grub/bios.img", boot_loader.make_bios_image(str(work), "feed")))
    if "uefi" in boot_modes:
        grafts.append(("/boot/grub/efiboot.img", boot_loader.make_efi_image(str(work), "feed", mtime=epoch)[0]))
    kernel = make_tree(work / "k", {"vmlinuz": "kernel"}) + "/vmlinuz"
    grafts.append(("/boot/vmlinuz", kernel))
    for dummy, path in grafts:
        os.utime(path, (epoch, epoch))
    out = str(tmp_path / (name + ".iso"))
    iso_media.write_iso(out, label or "HYB_" + name.upper(), grafts, boot_modes, "/boot/grub/bios.img",
                        "/boot/grub/efiboot.img", epoch)
    return out


@pytest.fixture(scope="module")
def hybrid_isos(tmp_path_factory):
    """{name: ISO written by write_iso}: bios+uefi, and uefi-only twice from separate work dirs."""
    if MISSING or XORRISO is None or not os.path.isdir(boot_loader.EFI_DIR) \
            or not os.path.isfile(boot_loader.BOOT_HYBRID):
        pytest.skip("needs xorriso, grub-mkimage, dosfstools, mtools, grub-pc-bin and grub-efi-amd64-bin")
    tmp = tmp_path_factory.mktemp("hybrid")
    return {"both": write_hybrid(tmp, "both", ("bios", "uefi")),
            "uefi": write_hybrid(tmp, "uefi", ("uefi",), label="SAME"),
            "uefi-again": write_hybrid(tmp, "uefi-again", ("uefi",), label="SAME")}


def el_torito(iso):
    result = subprocess.run(["xorriso", "-indev", iso, "-report_el_torito", "plain"], check=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=clean_env())
    return [line.split()[-1] for line in result.stdout.splitlines() if line.startswith("El Torito img path")]


def test_write_iso_bios_uefi(hybrid_isos):
    iso = hybrid_isos["both"]
    assert volume_label(iso) == "HYB_BOTH"
    assert sorted(iso_media.list_files(iso)) == ["/boot/grub/bios.img", "/boot/grub/efiboot.img", "/boot/vmlinuz"]
    assert el_torito(iso) == ["/boot/grub/bios.img", "/boot/grub/efiboot.img"]
    with open(iso, "rb") as handle:
        assert handle.read(512)[510:] == b"\x55\xaa"  # the hybrid MBR for USB sticks (BIOS)


def test_write_iso_uefi_only_and_reproducible(hybrid_isos):
    assert el_torito(hybrid_isos["uefi"]) == ["/boot/grub/efiboot.img"]
    assert volume_label(hybrid_isos["uefi"]) == "SAME"
    with open(hybrid_isos["uefi"], "rb") as one, open(hybrid_isos["uefi-again"], "rb") as two:
        assert one.read() == two.read()  # same inputs and epoch: same bytes


def _has_efi_partition(iso):
    """True if UEFI firmware finds an ESP on the ISO as a disk: an MBR 0xEF partition or a GPT at LBA 1."""
    with open(iso, "rb") as handle:
        head = handle.read(2048)
    mbr_types = [head[446 + 16 * index + 4] for index in range(4)]
    return 0xEF in mbr_types or 0xEE in mbr_types or head[512:520] == b"EFI PART"


@pytest.mark.parametrize("name", ["both", "uefi"])
def test_write_iso_has_efi_partition_for_usb(hybrid_isos, name):
    assert _has_efi_partition(hybrid_isos[name])


@pytest.mark.parametrize("name", ["both", "uefi"])
def test_grown_in_place_keeps_system_area_and_efi_partition(hybrid_isos, tmp_path, name):
    """The fast path: copy, append a file in place, System Area written back verbatim."""
    grown = str(tmp_path / "grown.iso")
    shutil.copyfile(hybrid_isos[name], grown)
    system_area = iso_media.save_system_area(hybrid_isos[name], str(tmp_path / "sa.bin"))
    host = make_tree(tmp_path / "host", {"meta-data": "instance-id: x\n"})
    iso_media.remaster(grown, grown, "GROWN", [(os.path.join(host, "meta-data"), "/cloud-init-data/meta-data")],
                       system_area=system_area)
    with open(hybrid_isos[name], "rb") as before, open(grown, "rb") as after:
        old, new = before.read(), after.read()
    assert len(new) > len(old)
    assert new[:ecma119.SYSTEM_AREA_BYTES] == old[:ecma119.SYSTEM_AREA_BYTES]
    assert _has_efi_partition(grown)
    assert volume_label(grown) == "GROWN"
    assert "/cloud-init-data/meta-data" in iso_media.list_files(grown)
    assert el_torito(grown) == el_torito(hybrid_isos[name])
    # only the volume descriptors (blocks 16-31) change in place: the EFI and BIOS boot images stay where
    # the unchanged MBR and GPT point
    assert new[65536:len(old)] == old[65536:]
    report = subprocess.run(["xorriso", "-indev", grown, "-report_system_area", "plain"], check=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            env=clean_env()).stdout
    assert re.search(r"GPT partition path :\s+\d+\s+/boot/grub/efiboot.img", report), report


# ---------------------------------------------------------------- the fast path's bytes: blind growing

def assert_tables_fit(iso):
    """fdisk and sfdisk read the grown ISO's tables without a warning, and its GPT covers the whole file."""
    if not shutil.which("sfdisk", path=clean_env()["PATH"]):
        return
    for argv in (["sfdisk", "--verify", iso], ["sfdisk", "-l", iso], ["fdisk", "-l", iso]):
        result = subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, env=clean_env())
        assert not re.search(r"(?i)warn|mismatch|not on the end|corrupt|invalid", result.stdout), result.stdout
    table = json.loads(subprocess.run(["sfdisk", "-J", iso], check=True, stdout=subprocess.PIPE,
                                      env=clean_env()).stdout)["partitiontable"]
    sectors = os.path.getsize(iso) // 512
    assert table["lastlba"] >= sectors - 64
    assert max(p["start"] + p["size"] for p in table["partitions"]) >= sectors - 65


@pytest.mark.parametrize("reflinks", [False, True], ids=["beside-copy", "reflinked"])
@pytest.mark.parametrize("name", ["both", "uefi"])
def test_grown_file_is_what_xorriso_grows_in_place(hybrid_isos, tmp_path, monkeypatch, name, reflinks):
    """grown_iso.grow with xorriso writing the session (session written aside, head built here, copy in a thread; or, where reflinks work,
    xorriso growing the clone in place) gives byte for byte the ISO ``xorriso -dev`` makes when it grows a copy
    in place, twice in a row (a grown ISO grown again), and its sha256 is that of the file it wrote."""
    import hashlib

    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso

    def stand_in(source, dest):  # a filesystem with reflinks, as far as grow() can tell: a full copy
        shutil.copyfile(source, dest)
        return True

    monkeypatch.setattr(grown_iso, "reflink", stand_in if reflinks else lambda source, dest: False)
    epoch = 1700000000
    host = make_tree(tmp_path / "host", {"meta-data": "instance-id: x\n", "user-data": "#cloud-config\n" * 900})
    mappings = [(os.path.join(host, "meta-data"), "/cloud-init-data/meta-data"),
                (os.path.join(host, "user-data"), "/cloud-init-data/user-data")]
    source = hybrid_isos[name]
    for generation in (1, 2):
        expected = str(tmp_path / ("in-place-%d.iso" % generation))
        shutil.copyfile(source, expected)
        system_area = iso_media.save_system_area(source, str(tmp_path / "sa.bin"))
        iso_media.remaster(expected, expected, "GROWN%d" % generation, mappings, source_date_epoch=epoch,
                           system_area=system_area)
        # ... with its MBR and GPT fitted to the grown size (xorriso keeps the input's System Area verbatim)
        assert partition_tables.fit_file(expected, os.path.getsize(source))
        ours = str(tmp_path / ("grown-%d.iso" % generation))
        how, sha256, writer = grown_iso.grow(source, ours, str(tmp_path / ("session-%d" % generation)),
                                             "GROWN%d" % generation, mappings, source_date_epoch=epoch,
                                             writer="xorriso")
        assert how == ("reflink" if reflinks else "copy") and writer == "xorriso: asked for"
        with open(expected, "rb") as one, open(ours, "rb") as two:
            want, got = one.read(), two.read()
        assert len(got) == len(want)
        assert got == want, "first differing block: %d" % next(
            i // 2048 for i in range(0, len(want), 2048) if want[i:i + 2048] != got[i:i + 2048])
        assert sha256 == hashlib.sha256(got).hexdigest()
        assert volume_label(ours) == "GROWN%d" % generation
        assert el_torito(ours) == el_torito(hybrid_isos[name])
        assert _has_efi_partition(ours)
        assert_tables_fit(ours)
        source = ours


def test_next_writable_block_is_xorrisos(hybrid_isos, plain_iso):
    for iso in (hybrid_isos["both"], plain_iso):
        toc = subprocess.run(["xorriso", "-indev", iso, "-toc"], check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, env=clean_env()).stdout
        nwa = int(re.search(r"Media nwa\s*:\s*(\d+)s", toc).group(1))
        assert ecma119.next_writable_block(iso) == nwa


def test_next_writable_block_not_an_iso(tmp_path):
    path = str(tmp_path / "zeros.iso")
    with open(path, "wb") as handle:
        handle.write(bytes(40000))
    with pytest.raises(ImageError) as info:
        ecma119.next_writable_block(path)
    assert "volume descriptor" in str(info.value)


def test_grow_failure_stops_the_copy_and_raises(hybrid_isos, tmp_path):
    """xorriso failing (a mapping whose source is missing) ends the copy thread and raises the error."""
    import threading

    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    with pytest.raises(CommandError):
        grown_iso.grow(hybrid_isos["both"], str(tmp_path / "out.iso"), str(tmp_path / "session"), "X",
                       [(str(tmp_path / "missing"), "/missing")], writer="xorriso")
    assert not [t for t in threading.enumerate() if t.name == "copy-input"]


# ---------------------------------------------------------------- the fast path's session, written here

def _tree(iso):
    """{path: content or None for a directory} of the ISO's Rock Ridge tree and of its Joliet tree, read by
    pycdlib (a strict reader that also checks path tables and both-endian fields against each other)."""
    import io
    pycdlib = pytest.importorskip("pycdlib")
    reader = pycdlib.PyCdlib()
    reader.open(iso)
    try:
        trees = []
        for kind in ("rr_path", "joliet_path"):
            found = {}
            for top, dirs, files in reader.walk(**{kind: "/"}):
                for name in dirs:
                    found[top.rstrip("/") + "/" + name] = None
                for name in files:
                    path = top.rstrip("/") + "/" + name
                    data = io.BytesIO()
                    reader.get_file_from_iso_fp(data, **{kind: path})
                    found[path] = data.getvalue()
            trees.append(found)
        return trees
    finally:
        reader.close()


SITE = {"meta-data": "instance-id: x\n", "user-data": "#cloud-config\n" * 900, "empty": "",
        "grub.cfg": "set timeout=1\n" * 50}


def _site_mappings(host):
    return [(os.path.join(host, "meta-data"), "/cloud-init-data/meta-data"),
            (os.path.join(host, "user-data"), "/cloud-init-data/user-data"),
            (os.path.join(host, "empty"), "/cloud-init-data/vendor-data"),
            (os.path.join(host, "grub.cfg"), "/boot/vmlinuz"),  # replaces a file of the input
            (os.path.join(host, "meta-data"), "/a/deeper/new-dir/meta data.txt")]


@pytest.mark.parametrize("name", ["both", "uefi"])
def test_session_written_here_reads_as_xorrisos(hybrid_isos, tmp_path, name):
    """The session iso_session writes: strict readers see the same trees (Rock Ridge and Joliet, every file's
    bytes) as in the ISO xorriso grows from the same input and changes, twice in a row; El Torito, System Area
    and the GPT's EFI partition are the input's; sha256 is the output file's; the input is unchanged."""
    import hashlib

    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    host = make_tree(tmp_path / "host", SITE)
    source = hybrid_isos[name]
    with open(source, "rb") as handle:
        original = handle.read()
    for generation in (1, 2):
        ours, theirs = str(tmp_path / ("here-%d.iso" % generation)), str(tmp_path / ("xorriso-%d.iso" % generation))
        how, sha256, writer = grown_iso.grow(source, ours, str(tmp_path / "s-here"), "SITE%d" % generation,
                                             _site_mappings(host), source_date_epoch=1700000000)
        assert (how, writer) == ("copy", "here")
        grown_iso.grow(source, theirs, str(tmp_path / ("s-xorriso-%d" % generation)), "SITE%d" % generation,
                       _site_mappings(host), source_date_epoch=1700000000, writer="xorriso")
        rock_ridge, joliet = _tree(ours)
        assert rock_ridge == joliet
        # xorriso writes the boot catalog and the BIOS boot image (its boot info table names its block) anew;
        # here both stay where the input has them, unchanged
        theirs_rr, theirs_joliet = _tree(theirs)
        kept = {"/boot.catalog", "/boot/grub/bios.img"}
        assert {k: v for k, v in rock_ridge.items() if k not in kept} == \
            {k: v for k, v in theirs_rr.items() if k not in kept} == \
            {k: v for k, v in theirs_joliet.items() if k not in kept}
        input_tree = _tree(hybrid_isos[name])[0]
        assert {k: rock_ridge[k] for k in kept if k in input_tree} == {k: input_tree[k] for k in kept if k in input_tree}
        assert rock_ridge["/boot/vmlinuz"] == SITE["grub.cfg"].encode()
        assert rock_ridge["/a/deeper/new-dir/meta data.txt"] == SITE["meta-data"].encode()
        assert rock_ridge["/cloud-init-data/vendor-data"] == b""
        with open(ours, "rb") as handle:
            data = handle.read()
        assert sha256 == hashlib.sha256(data).hexdigest()
        # the input's System Area: its boot code verbatim, its MBR and GPT fitted to the grown size
        assert data[:440] == original[:440]
        fitted = partition_tables.fit(original[:ecma119.HEAD_BYTES], len(original), len(data))[0]
        assert data[:ecma119.SYSTEM_AREA_BYTES] == fitted[:ecma119.SYSTEM_AREA_BYTES]
        assert_tables_fit(ours)
        assert volume_label(ours) == "SITE%d" % generation
        assert el_torito(ours) == el_torito(hybrid_isos[name])
        assert _has_efi_partition(ours)
        report = subprocess.run(["xorriso", "-indev", ours, "-report_system_area", "plain"], check=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                env=clean_env()).stdout
        assert re.search(r"GPT partition path :\s+\d+\s+/boot/grub/efiboot.img", report), report
        listing = subprocess.run(["xorriso", "-indev", ours, "-find", "/cloud-init-data", "-exec", "lsdl"],
                                 check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 universal_newlines=True, env=clean_env()).stdout
        assert re.search(r"^-r--r--r-- .* 2023 '/cloud-init-data/meta-data'$", listing, re.M), listing
        source = ours
    with open(hybrid_isos[name], "rb") as handle:
        assert handle.read() == original


def test_session_written_here_is_reproducible(hybrid_isos, tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    host = make_tree(tmp_path / "host", SITE)
    outputs = []
    for index in range(2):
        out = str(tmp_path / ("out-%d.iso" % index))
        grown_iso.grow(hybrid_isos["both"], out, str(tmp_path / "s"), "SAME", _site_mappings(host),
                       source_date_epoch=1700000000, checksum=False)
        with open(out, "rb") as handle:
            outputs.append(handle.read())
    assert outputs[0] == outputs[1]


def _no_joliet_iso(tmp_path):
    tree = make_tree(tmp_path / "nojoliet.d", {"a.txt": "A\n"})
    out = str(tmp_path / "nojoliet.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-o", out, tree], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=clean_env())
    return out


@pytest.mark.parametrize("case", ["onto-a-directory", "names-collide", "no-joliet", "file-as-directory"])
def test_session_shapes_left_to_xorriso(hybrid_isos, tmp_path, case):
    """What iso_session does not write (it says why) xorriso does: the output is still right."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
    host = make_tree(tmp_path / "host", {"f": "content\n"})
    f = os.path.join(host, "f")
    source, mappings, why = {
        "onto-a-directory": (hybrid_isos["both"], [(f, "/boot/grub")], "/boot/grub is a directory on the ISO"),
        "names-collide": (hybrid_isos["both"], [(f, "/x/a-b"), (f, "/x/a_b")], "would share its ISO 9660 name"),
        "no-joliet": (_no_joliet_iso(tmp_path) if case == "no-joliet" else None, [(f, "/b.txt")],
                      "not exactly one primary and one Joliet volume descriptor"),
        "file-as-directory": (hybrid_isos["both"], [(f, "/boot/vmlinuz/x")], "vmlinuz is a file on the ISO"),
    }[case]
    with pytest.raises(iso_session.Unsupported) as info:
        grown_iso.grow(source, str(tmp_path / "o.iso"), str(tmp_path / "s1"), "L", mappings, writer="here")
    assert why in str(info.value)
    if case in ("onto-a-directory", "file-as-directory"):
        return  # xorriso refuses these as well (a different error); the module's config checks come first
    out = str(tmp_path / "out.iso")
    how, sha256, writer = grown_iso.grow(source, out, str(tmp_path / "s2"), "L", mappings)
    assert writer == "xorriso: " + str(info.value)
    assert set(media for host, media in mappings) <= set(iso_media.list_files(out))


def _record_offset(iso, parent_extent, ident):
    with open(iso, "rb") as handle:
        handle.seek(parent_extent * 2048)
        data = handle.read(2048)
    position = 0
    while data[position]:
        length = data[position]
        if data[position + 33:position + 33 + data[position + 32]] == ident:
            return parent_extent * 2048 + position
        position += length
    raise AssertionError("%r not found" % ident)


@pytest.mark.parametrize("damage,why", [
    ("loop", "a directory linked twice"),
    ("past-end", "a directory extent outside the ISO"),
    ("huge", "a directory extent outside the ISO"),
    ("truncated", "an ISO shorter than 65536 bytes"),
])
def test_session_reader_refuses_damaged_trees(hybrid_isos, tmp_path, damage, why):
    """A hostile or damaged ISO makes the reader give up with a reason (xorriso then decides), never loop,
    read past the file or allocate what a record claims."""
    import struct

    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
    iso = str(tmp_path / "damaged.iso")
    shutil.copyfile(hybrid_isos["both"], iso)
    with open(iso, "r+b") as handle:
        handle.seek(16 * 2048 + 156 + 2)
        root = struct.unpack("<I", handle.read(4))[0]
        offset = _record_offset(iso, root, b"BOOT")
        if damage == "truncated":
            handle.truncate(40960)
        else:
            extent, size = {"loop": (root, 2048), "past-end": (10 ** 6, 2048), "huge": (root + 1, 1 << 30)}[damage]
            handle.seek(offset + 2)
            handle.write(struct.pack("<I", extent) + struct.pack(">I", extent)
                         + struct.pack("<I", size) + struct.pack(">I", size))
    host = make_tree(tmp_path / "host", {"f": "x"})
    with pytest.raises(iso_session.Unsupported) as info:
        iso_session.Session(iso, "L", [(os.path.join(host, "f"), "/f")])
    assert why in str(info.value)


@pytest.mark.parametrize("name,is_dir,ident", [
    ("meta-data", False, b"META_DATA.;1"),
    ("config.json", False, b"CONFIG.JSON;1"),
    ("liveiso-554e9682e4fbec2e", False, b"LIVEISO_554E9682E4FBEC2E.;1"),
    ("cloud-init-data", True, b"CLOUD_INIT_DATA"),
    (".disk", True, b".DISK"),
    ("a.b.c", False, b"A_B.C;1"),
    ("x" * 40 + ".conf", False, b"X" * 26 + b".CONF;1"),
])
def test_iso_identifier(name, is_dir, ident):
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
    assert iso_session.iso_identifier(name, is_dir) == ident


@pytest.mark.parametrize("error", [None, "EXDEV"])
def test_session_file_copied_across_filesystems(tmp_path, monkeypatch, error):
    """A media file on another filesystem than the output (copy_file_range: EXDEV) is read and written here."""
    import errno

    from ansible_collections.liveiso.customizer.plugins.module_utils._core import files as file_copy
    source = tmp_path / "src"
    source.write_bytes(os.urandom(3 << 20) + b"tail")
    if error:
        def refuse(*args):
            raise OSError(getattr(errno, error), "cross-device")
        monkeypatch.setattr(file_copy.os, "copy_file_range", refuse)
    out = tmp_path / "out"
    out.write_bytes(b"head")
    with open(str(out), "r+b", buffering=0) as handle:
        file_copy.copy_range(str(source), (3 << 20) + 4, handle.fileno(), 4096)
    data = out.read_bytes()
    assert data[:4] == b"head" and data[4:4096] == bytes(4092) and data[4096:] == source.read_bytes()
    with pytest.raises(OSError) as info, open(str(out), "r+b", buffering=0) as handle:
        file_copy.copy_range(str(source), (3 << 20) + 5, handle.fileno(), 0)  # the file is shorter than said
    assert "ended early" in str(info.value)


def test_session_written_here_on_an_iso_xorriso_grew(hybrid_isos, tmp_path):
    """An ISO remastered by xorriso earlier (older outputs, other shapes) is grown here like any other: the
    trees strict readers see match xorriso's own second generation."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    host = make_tree(tmp_path / "host", SITE)
    first = str(tmp_path / "first.iso")
    grown_iso.grow(hybrid_isos["both"], first, str(tmp_path / "s0"), "ONE", _site_mappings(host)[:2],
                   source_date_epoch=1700000000, writer="xorriso")
    ours, theirs = str(tmp_path / "ours.iso"), str(tmp_path / "theirs.iso")
    assert grown_iso.grow(first, ours, str(tmp_path / "s1"), "TWO", _site_mappings(host),
                          source_date_epoch=1700000000)[2] == "here"
    grown_iso.grow(first, theirs, str(tmp_path / "s2"), "TWO", _site_mappings(host), source_date_epoch=1700000000,
                   writer="xorriso")
    kept = {"/boot.catalog", "/boot/grub/bios.img"}
    assert [{k: v for k, v in tree.items() if k not in kept} for tree in _tree(ours)] == \
        [{k: v for k, v in tree.items() if k not in kept} for tree in _tree(theirs)]
    assert el_torito(ours) == el_torito(first)


def test_session_dates_out_of_range_are_left_to_xorriso(hybrid_isos, tmp_path):
    """A media file dated after 2155 (a directory record holds years 1900-2155): not written here."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
    host = make_tree(tmp_path / "host", {"f": "x"})
    os.utime(os.path.join(host, "f"), (7000000000, 7000000000))  # the year 2191
    with pytest.raises(iso_session.Unsupported) as info:
        iso_session.Session(hybrid_isos["both"], "L", [(os.path.join(host, "f"), "/f")])
    assert "a date a directory record cannot hold (2191)" in str(info.value)


# ---------------------------------------------------------------- who writes the session: grow(writer=...)

def test_session_writer_values():
    """SessionWriter members, their plain strings, and a clear error for anything else."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    writers = grown_iso.SessionWriter
    assert [w.value for w in writers] == ["auto", "here", "xorriso"]
    for writer in writers:
        assert grown_iso.session_writer(writer.value) is writer is grown_iso.session_writer(writer)
        assert writer == writer.value and writer.__doc__
    with pytest.raises(ValueError) as info:
        grown_iso.session_writer("python")
    assert "writer must be one of auto, here, xorriso, not 'python'" in str(info.value)


@pytest.mark.parametrize("as_enum", [False, True], ids=["string", "enum"])
def test_grow_writer_xorriso_bypasses_the_writer_here(hybrid_isos, tmp_path, monkeypatch, as_enum):
    """writer="xorriso" never reads the ISO with the writer here; xorriso's output is a valid grown ISO."""
    import hashlib

    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso

    def refuse(*args, **kwargs):
        raise AssertionError("the session writer here was asked")

    monkeypatch.setattr(grown_iso.iso_session, "Session", refuse)
    host = make_tree(tmp_path / "host", SITE)
    out = str(tmp_path / "out.iso")
    writer = grown_iso.SessionWriter.XORRISO if as_enum else "xorriso"
    how, sha256, who = grown_iso.grow(hybrid_isos["both"], out, str(tmp_path / "s"), "VIA_XORRISO",
                                      _site_mappings(host), source_date_epoch=1700000000, writer=writer)
    assert who == "xorriso: asked for" and how in ("copy", "reflink")
    with open(out, "rb") as handle:
        data = handle.read()
    assert sha256 == hashlib.sha256(data).hexdigest()
    assert len(data) > os.path.getsize(hybrid_isos["both"])  # grown: the input, then a session
    assert volume_label(out) == "VIA_XORRISO"
    rock_ridge, joliet = _tree(out)
    assert rock_ridge["/cloud-init-data/user-data"] == joliet["/cloud-init-data/user-data"] == \
        SITE["user-data"].encode()
    assert rock_ridge["/boot/vmlinuz"] == SITE["grub.cfg"].encode()
    assert el_torito(out) == el_torito(hybrid_isos["both"]) and _has_efi_partition(out)


@pytest.mark.parametrize("as_enum", [False, True], ids=["string", "enum"])
def test_grow_writer_here_fails_clearly_instead_of_falling_back(hybrid_isos, tmp_path, monkeypatch, as_enum):
    """writer="here" on a change the writer here does not make: an ImageError that says why, no xorriso run and
    no output; "auto" lets xorriso do the same change."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
    host = make_tree(tmp_path / "host", {"f": "content\n"})
    mappings = [(os.path.join(host, "f"), "/x/a-b"), (os.path.join(host, "f"), "/x/a_b")]
    out = str(tmp_path / "out.iso")
    remaster = iso_media.remaster

    def no_xorriso(*args, **kwargs):
        raise AssertionError("xorriso was asked")

    monkeypatch.setattr(grown_iso.iso_media, "remaster", no_xorriso)
    writer = grown_iso.SessionWriter.HERE if as_enum else "here"
    with pytest.raises(ImageError) as info:
        grown_iso.grow(hybrid_isos["both"], out, str(tmp_path / "s"), "L", mappings, writer=writer)
    assert isinstance(info.value, iso_session.Unsupported)
    assert str(info.value) == "'a_b' would share its ISO 9660 name with another entry"
    assert not os.path.exists(out)
    monkeypatch.setattr(grown_iso.iso_media, "remaster", remaster)
    assert grown_iso.grow(hybrid_isos["both"], out, str(tmp_path / "s"), "L", mappings)[2] == \
        "xorriso: " + str(info.value)
