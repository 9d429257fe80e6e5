# SPDX-License-Identifier: GPL-3.0-or-later
"""boot_loader.py: grub.cfg, grub-mkimage argv, the image's signed chain, and real BIOS/UEFI boot images."""

import os
import shutil
import struct
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import HostError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader

BOOT_ID = "0123456789abcdef"
NOCLOUD = "ds=nocloud;s=file:///x/"
COMMON = ["iso9660", "part_gpt", "part_msdos", "fat", "ext2", "normal", "search", "search_fs_file", "search_label",
          "search_fs_uuid", "configfile", "linux", "echo", "test", "serial", "terminal", "sleep", "ls", "cat", "halt",
          "reboot", "true", "gzio", "loadenv", "minicmd"]
SHIM = "/usr/lib/shim/shimx64.efi.signed"
MOK = "/usr/lib/shim/mmx64.efi.signed"
SIGNED_GRUB = "/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed"


# ---------------------------------------------------------------- grub.cfg and early config

def test_grub_cfg_exact():
    args = ["root=live:CDLABEL=LIVE_X", "rd.live.image", "console=ttyS0,115200n8", NOCLOUD]
    line = "root=live:CDLABEL=LIVE_X rd.live.image console=ttyS0,115200n8 'ds=nocloud;s=file:///x/'"
    assert boot_loader.grub_cfg(args) == (
        "# Written by liveiso.customizer\n"
        "set default=0\n"
        "set timeout=3\n"
        "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n"
        "terminal_input console serial\n"
        "terminal_output console serial\n"
        "menuentry 'Live OS' {\n"
        "    linux /boot/vmlinuz " + line + "\n"
        "    initrd /boot/initrd.img\n"
        "}\n"
        "menuentry 'Live OS (copy to RAM)' {\n"
        "    linux /boot/vmlinuz " + line + " rd.live.ram=1\n"
        "    initrd /boot/initrd.img\n"
        "}\n")


def test_grub_cfg_entries():
    args = ["root=live:CDLABEL=A", "quiet", NOCLOUD, "a b"]
    text = boot_loader.grub_cfg(args, title="Bob's OS", timeout=0)
    linux = [line.strip() for line in text.splitlines() if line.strip().startswith("linux ")]
    assert linux == ["linux /boot/vmlinuz root=live:CDLABEL=A quiet 'ds=nocloud;s=file:///x/' 'a b'",
                     "linux /boot/vmlinuz root=live:CDLABEL=A quiet 'ds=nocloud;s=file:///x/' 'a b' rd.live.ram=1"]
    assert [line for line in text.splitlines() if line.startswith("menuentry")] == \
        ["menuentry 'Bobs OS' {", "menuentry 'Bobs OS (copy to RAM)' {"]
    assert "set timeout=0\n" in text
    assert text.count("initrd /boot/initrd.img\n") == 2
    assert "serial --unit=0 --speed=115200" in text
    assert "terminal_input console serial\n" in text and "terminal_output console serial\n" in text


def test_grub_cfg_args_parse_back():
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import grub_cfg_args
    args = ["root=live:CDLABEL=A", NOCLOUD, "it's", "x$y"]
    assert grub_cfg_args(boot_loader.grub_cfg(args)) == args


def test_marker_and_early_config():
    assert boot_loader.marker_path(BOOT_ID) == "/.disk/liveiso-0123456789abcdef"
    assert boot_loader.early_config(BOOT_ID) == (
        "search --no-floppy --file --set=root /.disk/liveiso-0123456789abcdef\n"
        "set prefix=($root)/boot/grub\n"
        "configfile ($root)/boot/grub/grub.cfg\n")


# ---------------------------------------------------------------- grub-mkimage argv

def test_grub_mkimage_argv_bios():
    assert boot_loader.grub_mkimage_argv("bios", "/w/bios.img", "/w/early.cfg") == [
        "grub-mkimage", "-O", "i386-pc-eltorito", "-d", "/usr/lib/grub/i386-pc", "-p", "/boot/grub",
        "-c", "/w/early.cfg", "-o", "/w/bios.img"] + COMMON + ["biosdisk"]


def test_grub_mkimage_argv_efi():
    assert boot_loader.grub_mkimage_argv("uefi", "/w/BOOTX64.EFI", "/w/early.cfg") == [
        "grub-mkimage", "-O", "x86_64-efi", "-d", "/usr/lib/grub/x86_64-efi", "-p", "/boot/grub",
        "-c", "/w/early.cfg", "-o", "/w/BOOTX64.EFI"] + COMMON + ["efi_gop", "efi_uga", "all_video", "chain"]


def test_module_lists_have_no_duplicates():
    for modules in (boot_loader.BIOS_MODULES, boot_loader.EFI_MODULES):
        assert len(modules) == len(set(modules))


# ---------------------------------------------------------------- the image's signed chain

def _touch(root, image_path, data=b"x"):
    path = os.path.join(str(root), image_path.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def test_find_signed_chain_full(tmp_path):
    for path in (SHIM, MOK, SIGNED_GRUB):
        _touch(tmp_path, path)
    chain = boot_loader.find_signed_chain(Chroot(str(tmp_path)))
    assert chain.origin == {"BOOTX64.EFI": SHIM, "grubx64.efi": SIGNED_GRUB, "mmx64.efi": MOK}
    assert chain.files == {name: os.path.join(str(tmp_path), path.lstrip("/")) for name, path in chain.origin.items()}


def test_find_signed_chain_unsigned_fallbacks_and_no_mok(tmp_path):
    _touch(tmp_path, "/usr/lib/shim/shimx64.efi")
    _touch(tmp_path, SIGNED_GRUB)
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))).origin == {
        "BOOTX64.EFI": "/usr/lib/shim/shimx64.efi", "grubx64.efi": SIGNED_GRUB}
    _touch(tmp_path, "/usr/lib/shim/mmx64.efi")
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))).origin["mmx64.efi"] == "/usr/lib/shim/mmx64.efi"
    _touch(tmp_path, SHIM)  # the signed shim is preferred
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))).origin["BOOTX64.EFI"] == SHIM


def test_find_signed_chain_missing_grub(tmp_path):
    _touch(tmp_path, SHIM)
    _touch(tmp_path, MOK)
    _touch(tmp_path, "/usr/lib/grub/x86_64-efi/grubx64.efi")  # unsigned GRUB is not part of the chain
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))) is None


def test_find_signed_chain_missing_shim(tmp_path):
    _touch(tmp_path, SIGNED_GRUB)
    _touch(tmp_path, MOK)
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))) is None


def test_find_signed_chain_empty_root_and_directories(tmp_path):
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))) is None
    # directories with the right names are not files
    os.makedirs(os.path.join(str(tmp_path), SHIM.lstrip("/")))
    os.makedirs(os.path.join(str(tmp_path), SIGNED_GRUB.lstrip("/")))
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))) is None


def test_find_signed_chain_absolute_symlink_stays_in_root(tmp_path):
    """A link to /usr/lib/... inside the image resolves inside the image, not on the host."""
    _touch(tmp_path, "/usr/share/shim/real.efi")
    _touch(tmp_path, SIGNED_GRUB)
    os.makedirs(os.path.join(str(tmp_path), "usr/lib/shim"))
    os.symlink("/usr/share/shim/real.efi", os.path.join(str(tmp_path), SHIM.lstrip("/")))
    chain = boot_loader.find_signed_chain(Chroot(str(tmp_path)))
    assert chain.origin["BOOTX64.EFI"] == SHIM
    assert chain.files["BOOTX64.EFI"] == os.path.join(str(tmp_path), "usr/share/shim/real.efi")


def test_require_secure_boot_chain():
    chain = {"BOOTX64.EFI": SHIM, "grubx64.efi": SIGNED_GRUB}
    with pytest.raises(ImageError) as info:
        boot_loader.require_secure_boot_chain(None, "required")
    assert "secure_boot is required" in str(info.value)
    assert "shim-signed" in info.value.hint and "grub-efi-amd64-signed" in info.value.hint
    with pytest.raises(ImageError):
        boot_loader.require_secure_boot_chain({}, "required")
    assert boot_loader.require_secure_boot_chain(chain, "required") is None
    assert boot_loader.require_secure_boot_chain(None, "auto") is None
    assert boot_loader.require_secure_boot_chain(None, "off") is None


# ---------------------------------------------------------------- host GRUB platform files

@pytest.fixture
def host_grub(tmp_path, monkeypatch):
    """Point the module's platform-file constants at tmp paths; returns (boot_hybrid file, efi dir)."""
    hybrid = tmp_path / "i386-pc" / "boot_hybrid.img"
    efi_dir = tmp_path / "x86_64-efi"
    monkeypatch.setattr(boot_loader, "BOOT_HYBRID", str(hybrid))
    monkeypatch.setattr(boot_loader, "EFI_DIR", str(efi_dir))
    return hybrid, efi_dir


def test_check_host_grub_both_missing(host_grub):
    assert not host_grub[0].exists()
    with pytest.raises(HostError) as info:
        boot_loader.check_host_grub(("bios", "uefi"))
    assert info.value.hint == "Install them with: apt-get install grub-pc-bin grub-efi-amd64-bin"
    assert "bios, uefi" in info.value.message


def test_check_host_grub_bios_missing(host_grub):
    host_grub[1].mkdir()
    with pytest.raises(HostError) as info:
        boot_loader.check_host_grub(("bios", "uefi"))
    assert info.value.hint == "Install them with: apt-get install grub-pc-bin"
    assert boot_loader.check_host_grub(("uefi",)) is None


def test_check_host_grub_efi_missing(host_grub):
    host_grub[0].parent.mkdir()
    host_grub[0].write_bytes(b"mbr")
    with pytest.raises(HostError) as info:
        boot_loader.check_host_grub(("uefi",))
    assert info.value.hint == "Install them with: apt-get install grub-efi-amd64-bin"
    assert boot_loader.check_host_grub(("bios",)) is None


def test_check_host_grub_present(host_grub):
    host_grub[0].parent.mkdir()
    host_grub[0].write_bytes(b"mbr")
    host_grub[1].mkdir()
    assert boot_loader.check_host_grub(("bios", "uefi")) is None


def test_check_host_grub_wrong_kinds(host_grub):
    host_grub[0].mkdir(parents=True)            # a directory where the file should be
    host_grub[1].write_bytes(b"not a dir")      # a file where the directory should be
    with pytest.raises(HostError) as info:
        boot_loader.check_host_grub(("bios", "uefi"))
    assert "grub-pc-bin grub-efi-amd64-bin" in info.value.hint


def test_check_host_grub_via_os_path(monkeypatch):
    monkeypatch.setattr(boot_loader.os.path, "isfile", lambda path: False)
    monkeypatch.setattr(boot_loader.os.path, "isdir", lambda path: True)
    with pytest.raises(HostError) as info:
        boot_loader.check_host_grub(("bios", "uefi"))
    assert info.value.hint.endswith("apt-get install grub-pc-bin")


# ---------------------------------------------------------------- real boot images

PATH = clean_env()["PATH"]
MISSING = [tool for tool in ("grub-mkimage", "mkfs.vfat", "mmd", "mcopy", "mdir") if not shutil.which(tool, path=PATH)]
needs_mtools = pytest.mark.skipif(bool(MISSING), reason="host tools missing: %s (grub-common, dosfstools, mtools)"
                                  % ", ".join(MISSING))
needs_efi_grub = pytest.mark.skipif(not os.path.isdir(boot_loader.EFI_DIR),
                                    reason="%s missing (grub-efi-amd64-bin)" % boot_loader.EFI_DIR)
needs_bios_grub = pytest.mark.skipif(not os.path.isdir(boot_loader.BIOS_DIR),
                                     reason="%s missing (grub-pc-bin)" % boot_loader.BIOS_DIR)
EPOCH = 1700000000


def mtools(*argv):
    env = dict(clean_env(), MTOOLS_SKIP_CHECK="1")
    return subprocess.run(list(argv), check=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True).stdout


def fat_listing(image, directory="::/EFI/BOOT"):
    return sorted(line.strip() for line in mtools("mdir", "-b", "-i", image, directory).splitlines() if line.strip())


def fat_read(image, media_path, dest):
    mtools("mcopy", "-n", "-i", image, "::" + media_path, dest)
    with open(dest, "rb") as handle:
        return handle.read()


@needs_mtools
@needs_bios_grub
def test_make_bios_image(tmp_path):
    image = boot_loader.make_bios_image(str(tmp_path), BOOT_ID)
    assert image == str(tmp_path / "bios.img")
    assert os.path.getsize(image) > 10000
    assert (tmp_path / "early-bios.cfg").read_text() == boot_loader.early_config(BOOT_ID)


@needs_mtools
@needs_efi_grub
def test_make_efi_image_own_grub(tmp_path):
    image, files = boot_loader.make_efi_image(str(tmp_path), BOOT_ID, mtime=EPOCH)
    assert image == str(tmp_path / "efiboot.img")
    assert files == {"/EFI/BOOT/BOOTX64.EFI": str(tmp_path / "efi-files" / "BOOTX64.EFI")}
    assert fat_listing(image) == ["::/EFI/BOOT/BOOTX64.EFI"]
    assert os.path.getsize(image) == 1440 * 1024  # small enough for the minimum size
    efi = fat_read(image, "/EFI/BOOT/BOOTX64.EFI", str(tmp_path / "out.efi"))
    with open(files["/EFI/BOOT/BOOTX64.EFI"], "rb") as handle:
        assert efi == handle.read()
    assert efi[:2] == b"MZ"  # a PE image
    assert boot_loader.marker_path(BOOT_ID).encode() in efi  # the early config is embedded
    assert os.stat(files["/EFI/BOOT/BOOTX64.EFI"]).st_mtime == EPOCH
    info = mtools("mdir", "-i", image, "::/")
    assert "1E5B-0075" in info


@needs_mtools
def test_make_efi_image_signed_files(tmp_path):
    sources = {"BOOTX64.EFI": b"shim" * 300000, "grubx64.efi": os.urandom(2 * 1024 * 1024 + 7),
               "mmx64.efi": b"mok\x00\xff" * 1000}
    signed = {}
    for name, data in sources.items():
        signed[name] = _touch(tmp_path / "src", "/" + name.lower() + ".signed", data)
    work = tmp_path / "work"
    work.mkdir()
    image, files = boot_loader.make_efi_image(str(work), BOOT_ID, signed, volume_id="ABCD1234", mtime=EPOCH)
    # the chain, and our early config where GRUB's $cmdpath is (random bytes: no built-in prefix)
    assert sorted(files) == ["/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/grub.cfg", "/EFI/BOOT/grubx64.efi",
                             "/EFI/BOOT/mmx64.efi"]
    assert fat_listing(image) == ["::/EFI/BOOT/BOOTX64.EFI", "::/EFI/BOOT/grub.cfg", "::/EFI/BOOT/grubx64.efi",
                                  "::/EFI/BOOT/mmx64.efi"]
    for name, data in sources.items():
        assert fat_read(image, "/EFI/BOOT/" + name, str(tmp_path / ("out-" + name))) == data
        with open(files["/EFI/BOOT/" + name], "rb") as handle:
            assert handle.read() == data
    assert fat_read(image, "/EFI/BOOT/grub.cfg", str(tmp_path / "out.cfg")) == \
        boot_loader.early_config(BOOT_ID).encode()
    assert not (work / "early-efi.cfg").exists()  # no GRUB of our own was built
    assert "ABCD-1234" in mtools("mdir", "-i", image, "::/")


@needs_mtools
@needs_efi_grub
def test_make_efi_image_reproducible(tmp_path):
    images = []
    for name in ("one", "two"):
        work = tmp_path / name
        work.mkdir()
        images.append(boot_loader.make_efi_image(str(work), BOOT_ID, mtime=EPOCH)[0])
    with open(images[0], "rb") as first, open(images[1], "rb") as second:
        assert first.read() == second.read()
    other = tmp_path / "other"
    other.mkdir()
    with open(images[0], "rb") as first:
        data = first.read()
    with open(boot_loader.make_efi_image(str(other), BOOT_ID, mtime=EPOCH + 86400 * 400)[0], "rb") as third:
        assert third.read() != data  # the date is really in the image


@needs_mtools
def test_make_efi_image_signed_reproducible(tmp_path):
    source = _touch(tmp_path / "src", "/shim", b"\x01" * 5000)
    grub = _touch(tmp_path / "src", "/grub", b"\x02" * 7000)
    images = []
    for name in ("one", "two"):
        work = tmp_path / name
        work.mkdir()
        image = boot_loader.make_efi_image(str(work), "ffff", {"BOOTX64.EFI": source, "grubx64.efi": grub},
                                           mtime=EPOCH)[0]
        with open(image, "rb") as handle:
            images.append(handle.read())
    assert images[0] == images[1]


def test_grub_platforms():
    bios, uefi = boot_loader.GrubPlatform("bios"), boot_loader.GrubPlatform("uefi")
    assert (bios.mkimage_format, uefi.mkimage_format) == ("i386-pc-eltorito", "x86_64-efi")
    assert (bios.directory, uefi.directory) == ("/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi")
    assert (bios.host_package, uefi.host_package) == ("grub-pc-bin", "grub-efi-amd64-bin")
    assert "biosdisk" in bios.modules and "efi_gop" in uefi.modules
    with pytest.raises(ValueError):
        boot_loader.check_host_grub(("efi",))


# ---------------------------------------------------------------- vendor chains on the ESP (Fedora, RHEL, Azure Linux)

def _esp(root, files):
    for path in files:
        _touch(root, path, path.encode())
    return str(root)


def test_find_signed_chain_fedora_esp_copy(tmp_path):
    """Fedora's ESP: EFI/fedora/{shimx64,grubx64,mmx64}.efi; EFI/BOOT's fbx64.efi (shim's fallback) never taken."""
    esp = _esp(tmp_path / "esp-1", ["/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/fbx64.efi", "/EFI/fedora/shimx64.efi",
                                    "/EFI/fedora/grubx64.efi", "/EFI/fedora/mmx64.efi", "/EFI/fedora/shim.efi"])
    root = tmp_path / "root"
    root.mkdir()
    chain = boot_loader.find_signed_chain(Chroot(str(root)), [("partition 1:", esp)])
    assert chain.origin == {"BOOTX64.EFI": "partition 1:/EFI/fedora/shimx64.efi",
                            "grubx64.efi": "partition 1:/EFI/fedora/grubx64.efi",
                            "mmx64.efi": "partition 1:/EFI/fedora/mmx64.efi"}
    assert chain.files["BOOTX64.EFI"] == os.path.join(esp, "EFI", "fedora", "shimx64.efi")
    assert boot_loader.find_signed_chain(Chroot(str(root))) is None  # without the ESP copy: nothing


def test_find_signed_chain_azure_linux_boot_dir_any_case(tmp_path):
    """Azure Linux: shim as EFI/BOOT/bootx64.efi beside grubx64.efi; FAT names match without case."""
    esp = _esp(tmp_path / "esp", ["/efi/boot/bootx64.efi", "/efi/boot/GRUBX64.EFI"])
    chain = boot_loader.find_signed_chain(Chroot(str(tmp_path / "esp")), [("partition 2:", esp)])
    assert chain.origin == {"BOOTX64.EFI": "partition 2:/EFI/boot/bootx64.efi",
                            "grubx64.efi": "partition 2:/EFI/boot/GRUBX64.EFI"}


def test_find_signed_chain_root_boot_efi_and_order(tmp_path):
    """Files under the root's own /boot/efi count (a rebuilt root keeps them); Debian's paths come first;
    a vendor directory comes before EFI/BOOT; a vendor with only a shim is skipped."""
    _esp(tmp_path, ["/boot/efi/EFI/BOOT/BOOTX64.EFI", "/boot/efi/EFI/BOOT/grubx64.efi",
                    "/boot/efi/EFI/almalinux/shimx64.efi", "/boot/efi/EFI/redhat/shimx64.efi",
                    "/boot/efi/EFI/redhat/grubx64.efi"])
    chroot = Chroot(str(tmp_path))
    assert boot_loader.find_signed_chain(chroot).origin == {
        "BOOTX64.EFI": "/boot/efi/EFI/redhat/shimx64.efi", "grubx64.efi": "/boot/efi/EFI/redhat/grubx64.efi"}
    _touch(tmp_path, SHIM)
    _touch(tmp_path, SIGNED_GRUB)
    assert boot_loader.find_signed_chain(chroot).origin["BOOTX64.EFI"] == SHIM


def test_find_signed_chain_opensuse(tmp_path):
    _esp(tmp_path, ["/usr/share/efi/x86_64/shim.efi", "/usr/share/efi/x86_64/grub.efi",
                    "/usr/share/efi/x86_64/MokManager.efi"])
    assert boot_loader.find_signed_chain(Chroot(str(tmp_path))).origin == {
        "BOOTX64.EFI": "/usr/share/efi/x86_64/shim.efi", "grubx64.efi": "/usr/share/efi/x86_64/grub.efi",
        "mmx64.efi": "/usr/share/efi/x86_64/MokManager.efi"}


def test_required_names_every_place_looked(tmp_path):
    places = boot_loader.signed_chain_places([("partition 1:", str(tmp_path))])
    with pytest.raises(ImageError) as info:
        boot_loader.require_secure_boot_chain(None, "required", places)
    message = info.value.message
    for expected in (SHIM, SIGNED_GRUB, "/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
                     "/boot/efi/EFI/<vendor>/{shimx64.efi,shim.efi} + {grubx64.efi,grub.efi}",
                     "partition 1:/EFI/<vendor>/", "partition 1:/EFI/BOOT/{shimx64.efi,shim.efi,bootx64.efi}",
                     "/usr/share/efi/x86_64"):
        assert expected in message
    assert "shim-x64" in info.value.hint and "/boot/efi/EFI/<vendor>/" in info.value.hint


# ---------------------------------------------------------------- a signed GRUB's built-in prefix

def _module_section(objects, lead=b"\x00" * 100):
    """Bytes with a grub-mkimage module section: "mimg", padding, offset 24, size; then the objects."""
    body = b""
    for kind, payload in objects:
        padded = payload + b"\0" * (-len(payload) % 8)
        body += struct.pack("<II", kind, 8 + len(padded)) + padded
    return lead + b"mimg decoy" + b"mimg" + struct.pack("<IQQ", 0, 24, 24 + len(body)) + body + b"tail"


def test_grub_embedded_objects():
    data = _module_section([(0, b"\x7fELF module"), (2, b"normal (memdisk)/grub.cfg\n"), (3, b"/EFI/debian")])
    assert boot_loader.grub_embedded(data) == {2: b"normal (memdisk)/grub.cfg\n", 3: b"/EFI/debian"}
    assert boot_loader.grub_embedded(b"no section here") == {}
    truncated = data[:data.rindex(b"mimg") + 30]
    assert boot_loader.grub_embedded(truncated) == {}  # a size past the end: not a section


@pytest.mark.parametrize("prefix,expected", [
    (b"/EFI/fedora", "/EFI/fedora"), (b"(hd0,gpt1)/EFI/centos/", "/EFI/centos"), (b"/boot/grub", None),
    (b"", None)])
def test_grub_prefix_dir(tmp_path, prefix, expected):
    path = tmp_path / "grubx64.efi"
    path.write_bytes(_module_section([(3, prefix)] if prefix else []))
    assert boot_loader.grub_prefix_dir(str(path)) == expected


needs_mkimage = pytest.mark.skipif(not (shutil.which("grub-mkimage", path=PATH) and os.path.isdir(boot_loader.EFI_DIR)),
                                   reason="grub-mkimage or %s missing (grub-common, grub-efi-amd64-bin)"
                                   % boot_loader.EFI_DIR)


@needs_mkimage
@needs_mtools
def test_vendor_grub_reads_our_config_from_its_prefix(tmp_path):
    """A monolithic GRUB built as Fedora builds it (-p /EFI/fedora, no config): the FAT image and the ISO
    get our early config at /EFI/fedora/grub.cfg, and at /EFI/BOOT/grub.cfg."""
    grub = str(tmp_path / "grubx64.efi")
    subprocess.run(["grub-mkimage", "-O", "x86_64-efi", "-d", boot_loader.EFI_DIR, "-p", "/EFI/fedora", "-o", grub,
                    "normal", "search", "configfile"], check=True, env=clean_env())
    assert boot_loader.grub_prefix_dir(grub) == "/EFI/fedora"
    shim = _touch(tmp_path / "src", "/shimx64.efi", b"MZshim")
    work = tmp_path / "work"
    work.mkdir()
    image, files = boot_loader.make_efi_image(str(work), BOOT_ID, {"BOOTX64.EFI": shim, "grubx64.efi": grub},
                                              mtime=EPOCH)
    assert sorted(files) == ["/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/grub.cfg", "/EFI/BOOT/grubx64.efi",
                             "/EFI/fedora/grub.cfg"]
    assert fat_listing(image, "::/EFI/fedora") == ["::/EFI/fedora/grub.cfg"]
    assert fat_read(image, "/EFI/fedora/grub.cfg", str(tmp_path / "cfg")) == boot_loader.early_config(BOOT_ID).encode()


@needs_mtools
def test_copy_esps(tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition
    disk = str(tmp_path / "disk.img")
    with open(disk, "wb") as handle:
        handle.truncate(8 << 20)
    offset = 1 << 20
    fat = str(tmp_path / "fat.img")
    subprocess.run(["mkfs.vfat", "-C", fat, "4096"], check=True, stdout=subprocess.DEVNULL, env=clean_env())
    mtools("mmd", "-i", fat, "::/EFI", "::/EFI/fedora")
    src = _touch(tmp_path / "src", "/shimx64.efi", b"shim")
    mtools("mcopy", "-i", fat, src, "::/EFI/fedora/shimx64.efi")
    subprocess.run(["dd", "if=" + fat, "of=" + disk, "bs=1M", "seek=1", "conv=notrunc"], check=True,
                   stderr=subprocess.DEVNULL)
    esp, other, ext = Partition(1, offset, 4 << 20), Partition(2, 0, 1 << 20), Partition(3, 5 << 20, 1 << 20)
    esp.fstype, other.fstype, ext.fstype = "vfat", "vfat", "ext4"  # partition 2: no FAT there
    copies = boot_loader.copy_esps(disk, [esp, other, ext], str(tmp_path / "copies"))
    assert copies == [("partition 1:", str(tmp_path / "copies" / "esp-1"))]
    with open(os.path.join(copies[0][1], "EFI", "fedora", "shimx64.efi"), "rb") as handle:
        assert handle.read() == b"shim"


# ---------------------------------------------------------------- GRUB layouts: the image's and the host's

def test_image_grub_layout(tmp_path):
    chroot = Chroot(str(tmp_path))
    assert boot_loader.image_grub_layout(chroot) == (None, None, None, ())
    _touch(tmp_path, "/boot/grub/fonts/unicode.pf2")  # Debian leaves /boot/grub behind
    _touch(tmp_path, "/boot/grub2/grub.cfg")
    _touch(tmp_path, "/boot/grub2/grubenv")
    os.makedirs(str(tmp_path / "usr/lib/grub/x86_64-efi"))
    layout = boot_loader.image_grub_layout(chroot)
    assert layout == ("/boot/grub2", "/boot/grub2/grub.cfg", "/boot/grub2/grubenv", ("/usr/lib/grub/x86_64-efi",))
    assert layout.mkconfig == "grub2-mkconfig"
    os.unlink(str(tmp_path / "boot/grub2/grub.cfg"))
    _touch(tmp_path, "/boot/grub/grub.cfg")
    assert boot_loader.image_grub_layout(chroot)[:3] == ("/boot/grub", "/boot/grub/grub.cfg", None)
    assert boot_loader.image_grub_layout(chroot).mkconfig == "grub-mkconfig"


def test_host_grub2_names(tmp_path, monkeypatch):
    """A host with Fedora's names: grub2-mkimage on PATH, modules under /usr/lib/grub2 (or openSUSE's share)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "grub2-mkimage"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setattr(boot_loader, "clean_env", lambda: {"PATH": str(bindir)})
    assert boot_loader.mkimage_command() == "grub2-mkimage"
    modules = tmp_path / "grub2" / "x86_64-efi"
    modules.mkdir(parents=True)
    monkeypatch.setattr(boot_loader, "EFI_DIR", str(tmp_path / "missing" / "x86_64-efi"))
    monkeypatch.setattr(boot_loader, "MODULE_ROOTS", (str(tmp_path / "grub"), str(tmp_path / "grub2")))
    assert boot_loader.GrubPlatform.UEFI.directory == str(modules)
    argv = boot_loader.grub_mkimage_argv("uefi", "/w/x.efi", "/w/c.cfg")
    assert argv[:5] == ["grub2-mkimage", "-O", "x86_64-efi", "-d", str(modules)]
    monkeypatch.setattr(boot_loader, "clean_env", lambda: {"PATH": str(tmp_path / "empty")})
    assert boot_loader.mkimage_command() == "grub-mkimage"  # neither found: Debian's name in the error


def test_copy_esps_damaged_fat_is_skipped(tmp_path, monkeypatch):
    """mdir lists an EFI directory but mcopy fails: that partition is left out (auto builds go on unsigned)."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.partitions import Partition
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv[0], kwargs.get("check", True)))
        if argv[0] == "mdir":
            return Result(list(argv), 0, "::/EFI/fedora\n", "", 0.0)
        return Result(list(argv), 1, "", "init: non DOS media", 0.0)

    monkeypatch.setattr(boot_loader, "run", fake_run)
    esp = Partition(1, 1 << 20, 4 << 20)
    esp.fstype = "vfat"
    assert boot_loader.copy_esps("/x/disk.raw", [esp], str(tmp_path)) == []
    assert calls == [("mdir", False), ("mcopy", False)]
