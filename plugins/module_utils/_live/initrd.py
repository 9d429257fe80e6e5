# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live initramfs: dracut's dmsquash-live module, built inside the image (private to this collection).

The initrd is generated with the image's own dracut and kernel modules, in
non-host-only mode (dmsquash-live refuses host-only), written to the chroot's
tmpfs ``/run`` so the image's root filesystem is not changed by it.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import Dict, List, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import source_date_env
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot

# Where an image's dracut keeps its modules (merged /usr or not).
DRACUT_MODULE_DIRS: Tuple[str, ...] = ("/usr/lib/dracut/modules.d", "/lib/dracut/modules.d")
LIVE_MODULE: str = "dmsquash-live"
# Where dracut's dmsquash-live mounts the live medium in the booted system.
DRACUT_LIVE_MEDIUM: str = "/run/initramfs/live"
# Drivers a live medium may sit behind (CD, USB stick, virtio, SATA, NVMe), and its filesystems.
DRIVERS: Tuple[str, ...] = ("sr_mod", "cdrom", "isofs", "loop", "squashfs", "overlay", "usb_storage", "uas", "sd_mod",
                            "virtio_blk", "virtio_scsi", "virtio_pci", "ahci", "nvme", "xhci_pci", "ehci_pci")
WORK: str = "/run/liveiso-initrd"


def _version_key(version: str) -> List[Tuple[int, int, str]]:
    """Sort key for kernel versions: numbers numerically and above text parts (6.11.5 > 6.11-rc7)."""
    return [(1, int(p), "") if p.isdigit() else (0, 0, p) for p in re.split(r"[.-]", version)]


def find_kernel(chroot: Chroot) -> Tuple[str, str]:
    """(version, image path) of the newest kernel in /boot that has its modules in the image."""
    boot = chroot.path("/boot")
    found: List[str] = []
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


def check_dracut(chroot: Chroot) -> None:
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
WAIT_UNIT: str = """[Unit]
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
MOUNT_DROP_IN: str = """[Unit]
Wants=liveiso-live-root.service
After=liveiso-live-root.service
"""
INITRD_FILES: Dict[str, str] = {
    "etc/systemd/system/liveiso-live-root.service": WAIT_UNIT,
    "etc/systemd/system/sysroot.mount.d/50-liveiso-wait.conf": MOUNT_DROP_IN,
}


def dracut_argv(version: str, output: str, reproducible: bool = False) -> List[str]:
    # No --filesystems: it restricts the initrd to exactly those filesystem drivers.
    argv = ["dracut", "--force", "--no-hostonly", "--no-hostonly-cmdline", "--add", LIVE_MODULE,
            "--add-drivers", " ".join(DRIVERS), "--include", WORK + "/include", "/",
            "--tmpdir", WORK, "--kver", version]
    if reproducible:
        argv.append("--reproducible")
    return argv + [output]


def build_initrd(chroot: Chroot, dest: str, source_date_epoch: Optional[int] = None,
                 version: Optional[str] = None) -> str:
    """Generate the live initrd inside the chroot and copy it to host path ``dest``; return the kernel version.

    ``version`` names the kernel when the root has no /boot (a live root filesystem); by default the
    newest kernel in /boot with modules in the image.
    """
    check_dracut(chroot)
    if version is None:
        version = find_kernel(chroot)[0]
    with os_errors_as("write the initramfs' extra files in the image's %s" % WORK, chroot.path(WORK)):
        os.makedirs(chroot.path(WORK), exist_ok=True)
        for rel, text in INITRD_FILES.items():
            path = chroot.path(WORK + "/include/" + rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
            set_mtime(path, source_date_epoch)
    output = WORK + "/initrd.img"
    reproducible = source_date_epoch is not None
    chroot.run(dracut_argv(version, output, reproducible), env=source_date_env(source_date_epoch),
               what="dracut (building the live initramfs)", timeout=3600)
    with os_errors_as("copy the live initramfs out of the image", dest):
        shutil.copyfile(chroot.path(output), dest)
    shutil.rmtree(chroot.path(WORK), ignore_errors=True)
    return version
