# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``os.overlays``: overlay filesystems mounted by the image at boot, as the reference sets them up (private).

Each overlay becomes an fstab line ``overlay <mountPoint> overlay lowerdir=..,upperdir=..,workdir=..[,opts] 0 0``
(an ``isInitrdOverlay`` one with its paths under /sysroot and ``x-initrd.mount,x-systemd.wanted-by=
initrd-fs.target``; its ``mountDependencies`` must be fstab mounts with ``x-initrd.mount``), the mount point,
upper and work directories are created, dracut is told to add the overlay driver, and with SELinux on, the
upper directory gets the mount point's file contexts and the work directory ``no_access_t`` (semanage).
"""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING, List, Sequence

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, StepError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot

if TYPE_CHECKING:
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Overlay

DRACUT_CONF: str = "/etc/dracut.conf.d/overlay.conf"
KEY: str = "config.os.overlays"


def fstab_line(overlay: Overlay, fstab: Sequence[Sequence[str]], index: int) -> str:
    """The fstab line of ``overlay`` (``fstab``: the image's entries, split into fields)."""
    lower, upper, work = list(overlay.lower_dirs), overlay.upper_dir, overlay.work_dir
    dependencies = list(overlay.mount_dependencies)
    if overlay.is_initrd_overlay:
        for dep in dependencies:
            entry = next((fields for fields in fstab if len(fields) >= 4 and fields[1] == dep), None)
            if entry is None:
                raise StepError("%s[%d]: mountDependency %s not found in fstab" % (KEY, index, dep))
            if "x-initrd.mount" not in entry[3].split(","):
                raise StepError("%s[%d]: mountDependency %s requires x-initrd.mount option in fstab" % (KEY, index, dep),
                                "Add x-initrd.mount to that filesystem's mount options.")
        sysroot = [posixpath.join("/sysroot", p.lstrip("/")) for p in lower + [upper, work] + dependencies]
        lower, upper, work = sysroot[:len(lower)], sysroot[len(lower)], sysroot[len(lower) + 1]
        dependencies = sysroot[len(lower) + 2:]
    options = "lowerdir=%s,upperdir=%s,workdir=%s" % (":".join(lower), upper, work)
    options += "".join(",x-systemd.requires=%s" % dep for dep in dependencies)
    if overlay.is_initrd_overlay:
        options += ",x-initrd.mount,x-systemd.wanted-by=initrd-fs.target"
    if overlay.mount_options:
        options += "," + overlay.mount_options
    return "overlay %s overlay %s 0 0" % (overlay.mount_point, options)


def enable_overlays(chroot: Chroot, overlays: Sequence[Overlay], selinux: bool) -> List[str]:
    """Write the overlays into the image; return notes."""
    host_fstab = chroot.path("/etc/fstab")
    text = ""
    if os.path.isfile(host_fstab):
        with open(host_fstab) as handle:
            text = handle.read()
    fstab = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    lines = [fstab_line(overlay, fstab, index) for index, overlay in enumerate(overlays)]
    with os_errors_as("write /etc/fstab in the image", host_fstab):
        atomic_write(host_fstab, text + ("" if not text or text.endswith("\n") else "\n") + "\n".join(lines) + "\n",
                     0o644, fsync=False)
    for overlay in overlays:
        for image_dir in (overlay.mount_point, overlay.upper_dir, overlay.work_dir):
            host = chroot.path(image_dir)
            with os_errors_as("create %s in the image" % image_dir, host):
                os.makedirs(host, 0o755, exist_ok=True)
    dracut = chroot.path(DRACUT_CONF)
    with os_errors_as("write %s in the image" % DRACUT_CONF, dracut):
        os.makedirs(os.path.dirname(dracut), exist_ok=True)
        atomic_write(dracut, 'add_drivers+=" overlay "\n', 0o644, fsync=False)
    if selinux:
        _equivalency_rules(chroot, overlays)
    return ["overlays: %d fstab entr%s, dracut overlay driver" % (len(lines), "y" if len(lines) == 1 else "ies")]


def _equivalency_rules(chroot: Chroot, overlays: Sequence[Overlay]) -> None:
    if not chroot.which("semanage"):
        raise StepError("%s: SELinux is on and the image has no semanage to label the overlays' directories." % KEY,
                        "Install policycoreutils-python-utils in the image (os.packages.install).")
    for overlay in overlays:
        for argv in (["semanage", "fcontext", "-a", "-e", overlay.mount_point, overlay.upper_dir],
                     ["semanage", "fcontext", "-a", "-f", "a", "-t", "no_access_t", "-r", "s0",
                      overlay.work_dir + "(/.*)?"]):
            try:
                chroot.run(argv, timeout=600, what=" ".join(argv))
            except CommandError as err:
                raise StepError("%s: %s failed (exit %s): %s"
                                % (KEY, " ".join(argv), err.returncode, err.output_tail)) from err
