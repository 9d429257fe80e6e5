# SPDX-License-Identifier: GPL-3.0-or-later
"""squashfs.py and live_initrd.py: mksquashfs and dracut argv, the image's kernel and its dracut live module."""

import os
import shutil
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._live import initrd as live_initrd
from ansible_collections.liveiso.customizer.plugins.module_utils._live import squashfs

EXCLUDES = ["boot/*", "etc/fstab", "etc/resolv.conf.liveiso-saved", "var/tmp/liveiso-customizer-scripts",
            "lost+found"]
# the live root's /etc/fstab: the image's excluded, one that mounts nothing added (a pseudo file)
FSTAB = ["-p", "etc/fstab f 644 0 0 printf '%s'" % squashfs.LIVE_FSTAB.replace("\n", "\\n")]
DRIVERS = ("sr_mod cdrom isofs loop squashfs overlay usb_storage uas sd_mod virtio_blk virtio_scsi virtio_pci ahci "
           "nvme xhci_pci ehci_pci")


# ---------------------------------------------------------------- mksquashfs

def test_mksquashfs_argv_zstd_level():
    assert squashfs.mksquashfs_argv("/mnt/root", "/w/rootfs.img", "zstd", 19) == [
        "mksquashfs", "/mnt/root", "/w/rootfs.img", "-noappend", "-no-progress", "-xattrs", "-comp", "zstd",
        "-Xcompression-level", "19"] + FSTAB + ["-wildcards", "-e"] + EXCLUDES


def test_mksquashfs_argv_defaults():
    assert squashfs.mksquashfs_argv("/r", "/d") == [
        "mksquashfs", "/r", "/d", "-noappend", "-no-progress", "-xattrs", "-comp", "zstd"] + FSTAB \
        + ["-wildcards", "-e"] + EXCLUDES


def test_mksquashfs_argv_xz_bcj():
    assert squashfs.mksquashfs_argv("/r", "/d", "xz") == [
        "mksquashfs", "/r", "/d", "-noappend", "-no-progress", "-xattrs", "-comp", "xz", "-Xbcj", "x86",
    ] + FSTAB + ["-wildcards", "-e"] + EXCLUDES


def test_mksquashfs_argv_gzip_lz4():
    assert squashfs.mksquashfs_argv("/r", "/d", "gzip", 9) == [
        "mksquashfs", "/r", "/d", "-noappend", "-no-progress", "-xattrs", "-comp", "gzip", "-Xcompression-level",
        "9"] + FSTAB + ["-wildcards", "-e"] + EXCLUDES
    argv = squashfs.mksquashfs_argv("/r", "/d", "lz4")
    assert "-Xbcj" not in argv and "-Xcompression-level" not in argv
    assert argv[argv.index("-comp") + 1] == "lz4"


def test_excludes_come_last():
    argv = squashfs.mksquashfs_argv("/r", "/d", squashfs.Compression.XZ, 6)
    assert argv[-len(EXCLUDES) - 4:] == FSTAB + ["-wildcards", "-e"] + EXCLUDES  # -e takes everything after it


def test_compressors_and_levels():
    assert squashfs.COMPRESSORS == ("zstd", "xz", "gzip", "lz4")
    assert squashfs.LEVELS == {"zstd": (1, 22), "xz": None, "gzip": (1, 9), "lz4": None}
    assert squashfs.Compression("zstd") is squashfs.Compression.ZSTD and squashfs.Compression.XZ == "xz"
    assert squashfs.Compression.GZIP.mksquashfs_args(9) == ["-comp", "gzip", "-Xcompression-level", "9"]
    assert squashfs.Compression.LZ4.level_bounds is None
    with pytest.raises(ValueError):
        squashfs.mksquashfs_argv("/r", "/d", "lzo")


TOOLS_MISSING = [tool for tool in ("mksquashfs", "unsquashfs") if not shutil.which(tool, path=clean_env()["PATH"])]


@pytest.mark.skipif(bool(TOOLS_MISSING), reason="squashfs-tools missing: %s" % ", ".join(TOOLS_MISSING))
def test_make_squashfs_excludes_and_reproducible(tmp_path):
    root = tmp_path / "root"
    files = {"boot/vmlinuz-6.1": "k", "boot/grub/grub.cfg": "c", "etc/fstab": "fs", "etc/hostname": "h",
             "etc/resolv.conf.liveiso-saved": "r", "var/tmp/liveiso-customizer-scripts/s.sh": "s",
             "lost+found/x": "x", "usr/bin/tool": "t", "home/user/boot/keep": "k"}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    images = []
    for name in ("a.img", "b.img"):
        dest = str(tmp_path / name)
        size = squashfs.make_squashfs(str(root), dest, "zstd", 3, source_date_epoch=1700000000)
        assert size == os.path.getsize(dest) > 0
        with open(dest, "rb") as handle:
            images.append(handle.read())
    assert images[0] == images[1]
    listing = subprocess.run(["unsquashfs", "-l", "-d", "", str(tmp_path / "a.img")], check=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True).stdout
    paths = sorted(line.strip() for line in listing.splitlines() if line.startswith("/"))
    assert paths == ["/boot", "/etc", "/etc/fstab", "/etc/hostname", "/home", "/home/user", "/home/user/boot",
                     "/home/user/boot/keep", "/usr", "/usr/bin", "/usr/bin/tool", "/var", "/var/tmp"]
    # the disk's fstab is not there; one that mounts nothing is (dhclient-script exits without any /etc/fstab)
    fstab = subprocess.run(["unsquashfs", "-cat", str(tmp_path / "a.img"), "etc/fstab"], check=True,
                           stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert fstab == squashfs.LIVE_FSTAB and "fs" not in fstab.split()


# ---------------------------------------------------------------- dracut

def test_dracut_argv():
    argv = live_initrd.dracut_argv("6.1.0-13-amd64", "/run/liveiso-initrd/initrd.img")
    assert argv == ["dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline", "--add", "dmsquash-live",
                    "--add-drivers", DRIVERS, "--include", "/run/liveiso-initrd/include", "/",
                    "--tmpdir", "/run/liveiso-initrd", "--kver", "6.1.0-13-amd64",
                    "/run/liveiso-initrd/initrd.img"]
    assert not any(arg.startswith("--filesystems") for arg in argv)
    assert "--reproducible" not in argv


def test_dracut_argv_reproducible():
    argv = live_initrd.dracut_argv("6.1", "/o.img", reproducible=True)
    assert argv[-2:] == ["--reproducible", "/o.img"]
    assert "--no-hostonly" in argv
    assert argv[argv.index("--add") + 1] == "dmsquash-live"
    assert not any("filesystems" in arg for arg in argv)


def _fake_root(tmp_path, kernels=(), modules=(), usr_modules=()):
    root = tmp_path / "root"
    (root / "boot").mkdir(parents=True, exist_ok=True)
    for version in kernels:
        (root / "boot" / ("vmlinuz-" + version)).write_bytes(b"kernel")
    for version in modules:
        (root / "lib" / "modules" / version).mkdir(parents=True, exist_ok=True)
    for version in usr_modules:
        (root / "usr" / "lib" / "modules" / version).mkdir(parents=True, exist_ok=True)
    return Chroot(str(root))


def test_find_kernel_newest_with_modules(tmp_path):
    chroot = _fake_root(tmp_path, kernels=["5.10.0-28-amd64", "6.1.0-13-amd64", "6.1.0-9-amd64", "6.10.0-1-amd64"],
                        modules=["5.10.0-28-amd64", "6.1.0-13-amd64", "6.1.0-9-amd64"])
    # 6.10.0-1 has no modules: ignored; 6.1.0-13 beats 6.1.0-9 numerically
    assert live_initrd.find_kernel(chroot) == ("6.1.0-13-amd64", "/boot/vmlinuz-6.1.0-13-amd64")


def test_find_kernel_numeric_not_lexical(tmp_path):
    chroot = _fake_root(tmp_path, kernels=["6.9.0-1-amd64", "6.10.0-1-amd64"], modules=["6.9.0-1-amd64",
                                                                                        "6.10.0-1-amd64"])
    assert live_initrd.find_kernel(chroot)[0] == "6.10.0-1-amd64"


def test_find_kernel_usr_lib_modules(tmp_path):
    chroot = _fake_root(tmp_path, kernels=["6.5.6-300.fc39.x86_64"], usr_modules=["6.5.6-300.fc39.x86_64"])
    assert live_initrd.find_kernel(chroot) == ("6.5.6-300.fc39.x86_64", "/boot/vmlinuz-6.5.6-300.fc39.x86_64")


def test_find_kernel_ignores_other_boot_files(tmp_path):
    chroot = _fake_root(tmp_path, kernels=["6.1.0-13-amd64"], modules=["6.1.0-13-amd64", "7.0.0-1-amd64"])
    for name in ("initrd.img-7.0.0-1-amd64", "config-7.0.0-1-amd64", "vmlinuz", "System.map-7.0.0-1-amd64"):
        (tmp_path / "root" / "boot" / name).write_bytes(b"x")
    assert live_initrd.find_kernel(chroot)[0] == "6.1.0-13-amd64"


@pytest.mark.parametrize("kernels,modules", [
    ([], []),
    (["6.1.0-13-amd64"], []),
    (["6.1.0-13-amd64"], ["6.1.0-14-amd64"]),
    ([], ["6.1.0-13-amd64"]),
], ids=["nothing", "no-modules", "other-modules", "no-kernel"])
def test_find_kernel_none(tmp_path, kernels, modules):
    chroot = _fake_root(tmp_path, kernels=kernels, modules=modules)
    with pytest.raises(ImageError) as info:
        live_initrd.find_kernel(chroot)
    assert "no kernel found in the image" in str(info.value)
    assert "linux-image-amd64" in info.value.hint


def test_find_kernel_no_boot_dir(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageError) as info:
        live_initrd.find_kernel(Chroot(str(tmp_path / "empty")))
    assert "linux-image-amd64" in str(info.value)


def test_find_kernel_release_and_rc(tmp_path):
    versions = ["6.11.5-amd64", "6.11-rc7-amd64"]
    chroot = _fake_root(tmp_path, kernels=versions, modules=versions)
    assert live_initrd.find_kernel(chroot)[0] == "6.11.5-amd64"


def _exe(root, rel):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, 0o755)
    return path


def test_check_dracut_missing_binary(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "lib" / "dracut" / "modules.d" / "90dmsquash-live").mkdir(parents=True)
    with pytest.raises(ImageError) as info:
        live_initrd.check_dracut(Chroot(str(root)))
    assert "the image has no dracut" in str(info.value)
    assert "dracut, dracut-live" in info.value.hint


def test_check_dracut_not_executable(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "dracut").write_text("not executable")
    os.chmod(str(root / "usr" / "bin" / "dracut"), 0o644)
    (root / "usr" / "lib" / "dracut" / "modules.d" / "90dmsquash-live").mkdir(parents=True)
    with pytest.raises(ImageError) as info:
        live_initrd.check_dracut(Chroot(str(root)))
    assert "the image has no dracut" in str(info.value)


def test_check_dracut_missing_live_module(tmp_path):
    root = tmp_path / "root"
    _exe(root, "usr/bin/dracut")
    (root / "usr" / "lib" / "dracut" / "modules.d" / "90kernel-modules").mkdir(parents=True)
    (root / "usr" / "lib" / "dracut" / "modules.d" / "95dmsquash-live").mkdir(parents=True)  # wrong number
    with pytest.raises(ImageError) as info:
        live_initrd.check_dracut(Chroot(str(root)))
    assert "has no dmsquash-live module" in str(info.value)
    assert "dracut-live" in info.value.hint


@pytest.mark.parametrize("binary,module_dir", [
    ("usr/bin/dracut", "usr/lib/dracut/modules.d"),
    ("sbin/dracut", "lib/dracut/modules.d"),
    ("usr/sbin/dracut", "usr/lib/dracut/modules.d"),
])
def test_check_dracut_ok(tmp_path, binary, module_dir):
    root = tmp_path / "root"
    _exe(root, binary)
    (root / module_dir / "90dmsquash-live").mkdir(parents=True)
    assert live_initrd.check_dracut(Chroot(str(root))) is None


def test_initrd_makes_sysroot_wait_for_the_live_root():
    drop_in = live_initrd.INITRD_FILES["etc/systemd/system/sysroot.mount.d/50-liveiso-wait.conf"]
    assert "Wants=liveiso-live-root.service" in drop_in and "After=liveiso-live-root.service" in drop_in
    assert "Requires=" not in drop_in  # would unmount /sysroot when switch-root stops the service
    unit = live_initrd.INITRD_FILES["etc/systemd/system/liveiso-live-root.service"]
    assert "Before=sysroot.mount" in unit and "/run/rootfsbase/etc" in unit
    assert "mkdir -p /run/overlayfs /run/ovlwork" in unit
