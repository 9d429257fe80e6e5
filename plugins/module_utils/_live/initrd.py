# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live initramfs: dracut's dmsquash-live module, built inside the image (private to this collection).

The initrd is generated with the image's own dracut and kernel modules, in
non-host-only mode (dmsquash-live refuses host-only), written to the chroot's
tmpfs ``/run`` so the image's root filesystem is not changed by it.
"""

from __future__ import annotations

import os
import re
import shutil

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError

DRACUT_MODULE_DIRS = ("/usr/lib/dracut/modules.d", "/lib/dracut/modules.d")
LIVE_MODULE = "dmsquash-live"
# Drivers a live medium may sit behind (CD, USB stick, virtio, SATA, NVMe), and its filesystems.
DRIVERS = ("sr_mod", "cdrom", "isofs", "loop", "squashfs", "overlay", "usb_storage", "uas", "sd_mod",
           "virtio_blk", "virtio_scsi", "virtio_pci", "ahci", "nvme", "xhci_pci", "ehci_pci")
WORK = "/run/liveiso-initrd"


def _version_key(version):
    """Sort key for kernel versions: numbers numerically and above text parts (6.11.5 > 6.11-rc7)."""
    return [(1, int(p), "") if p.isdigit() else (0, 0, p) for p in re.split(r"[.-]", version)]


def find_kernel(chroot):
    """(version, image path) of the newest kernel in /boot that has its modules in the image."""
    boot = chroot.path("/boot")
    found = []
    if os.path.isdir(boot):
        for name in os.listdir(boot):
            if name.startswith("vmlinuz-"):
                version = name[len("vmlinuz-"):]
                for base in ("/lib/modules/", "/usr/lib/modules/"):
                    if os.path.isdir(chroot.path(base + version)):
                        found.append(version)
                        break
    if not found:
        raise ImageError("no kernel found in the image: /boot has no vmlinuz-<version> with matching "
                         "/lib/modules/<version>.",
                         "Install a kernel with the image's package manager (Debian: os.packages.install: "
                         "[linux-image-amd64]).")
    version = sorted(found, key=_version_key)[-1]
    return version, "/boot/vmlinuz-" + version


def check_dracut(chroot):
    """Fail with the package to add when dracut or its live module is missing from the image."""
    if not chroot.which("dracut"):
        raise ImageError("the image has no dracut, which builds the live initramfs.",
                         "Add it to the config: os.packages.install: [dracut, dracut-live].")
    if not any(os.path.isdir(chroot.path(d + "/90" + LIVE_MODULE)) for d in DRACUT_MODULE_DIRS):
        raise ImageError("the image's dracut has no %s module." % LIVE_MODULE,
                         "Add the package that provides it (dracut-live on Debian and Fedora): "
                         "os.packages.install: [dracut-live].")


# dracut 059 (Debian 12) generates sysroot.mount as an overlay of /run/rootfsbase with upperdir /run/overlayfs,
# but in systemd mode nothing orders it after dmsquash-live-root (which mounts /run/rootfsbase), and
# /run/overlayfs is only created by the later mount hook: systemd logs "Failed to mount sysroot" and the
# hook mounts the root a second way. These units, added to the initrd, make the mount wait for the live
# root and create the overlay directories first, so /sysroot mounts once, cleanly.
WAIT_UNIT = """[Unit]
Description=Wait for the live root filesystem (liveiso.customizer)
DefaultDependencies=no
Before=sysroot.mount

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'until [ -d /run/rootfsbase/etc ]; do sleep 0.2; done; mkdir -p /run/overlayfs /run/ovlwork'
"""
# Wants, not Requires: switch-root isolates initrd-switch-root.target, which stops this service, and a
# Requires= dependency would unmount /sysroot with it.
MOUNT_DROP_IN = """[Unit]
Wants=liveiso-live-root.service
After=liveiso-live-root.service
"""
INITRD_FILES = {
    "etc/systemd/system/liveiso-live-root.service": WAIT_UNIT,
    "etc/systemd/system/sysroot.mount.d/50-liveiso-wait.conf": MOUNT_DROP_IN,
}


def dracut_argv(version, output, reproducible=False):
    # No --filesystems: it restricts the initrd to exactly those filesystem drivers.
    argv = ["dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline", "--add", LIVE_MODULE,
            "--add-drivers", " ".join(DRIVERS), "--include", WORK + "/include", "/",
            "--tmpdir", WORK, "--kver", version]
    if reproducible:
        argv.append("--reproducible")
    return argv + [output]


def build_initrd(chroot, dest, source_date_epoch=None, version=None):
    """Generate the live initrd inside the chroot and copy it to host path ``dest``; return the kernel version.

    ``version`` names the kernel when the root has no /boot (a live root filesystem); by default the
    newest kernel in /boot with modules in the image.
    """
    check_dracut(chroot)
    if version is None:
        version = find_kernel(chroot)[0]
    os.makedirs(chroot.path(WORK), exist_ok=True)
    for rel, text in INITRD_FILES.items():
        path = chroot.path(WORK + "/include/" + rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
        if source_date_epoch is not None:
            os.utime(path, (source_date_epoch, source_date_epoch))
    output = WORK + "/initrd.img"
    reproducible = source_date_epoch is not None
    env = {"SOURCE_DATE_EPOCH": str(source_date_epoch)} if reproducible else None
    chroot.run(dracut_argv(version, output, reproducible), env=env, what="dracut (building the live initramfs)",
               timeout=3600)
    shutil.copyfile(chroot.path(output), dest)
    shutil.rmtree(chroot.path(WORK), ignore_errors=True)
    return version
