# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``os.selinux.mode`` as the reference applies it (private to this collection).

The mode goes three places: ``SELINUX=`` in /etc/selinux/config, the kernel arguments of every boot
configuration (``security=selinux selinux=1``, ``enforcing=1`` for force-enforcing, ``selinux=0`` for
disabled; any earlier ``security=``/``selinux=``/``enforcing=`` replaced), and, when SELinux is enabled, the
file labels: ``setfiles`` from the image runs in the chroot over every writable ext2/3/4, xfs or btrfs
filesystem of the image (or the overlay a Live ISO build mounts its root as), each seen through a plain bind mount (so directories under mount points get labels
too). A mode other than disabled needs a policy in the image (/etc/selinux/config exists); on Debian the
packages are ``selinux-basics`` and ``selinux-policy-default``.
"""

from __future__ import annotations

import os
import re
from typing import List, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, StepError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import replace_boot_args
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted

SELINUX_CONFIG: str = "/etc/selinux/config"
SELINUX_ARG_NAMES: Tuple[str, ...] = ("security", "selinux", "enforcing")
POLICY_PACKAGES: Tuple[str, ...] = ("selinux-basics", "selinux-policy-default")  # Debian's
# overlay: the root of a Live ISO build (the input's filesystem under a writable upper layer: labels copy up)
LABELLED_FSTYPES: Tuple[str, ...] = ("ext2", "ext3", "ext4", "xfs", "btrfs", "overlay")
API_MOUNTS: Tuple[str, ...] = ("/dev", "/dev/pts", "/proc", "/sys", "/run")
RELABEL_ROOT: str = "/run/liveiso-relabel"  # on the chroot's own /run tmpfs, never labelled itself


def config_with_mode(text: str, mode: str) -> str:
    """/etc/selinux/config ``text`` with ``SELINUX=mode`` (the line replaced, or appended)."""
    line = "SELINUX=%s" % mode
    new, count = re.subn(r"^SELINUX=.*$", line, text, flags=re.M)
    if count:
        return new
    return text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"


def policy_type(text: str) -> Optional[str]:
    """``SELINUXTYPE=`` of /etc/selinux/config ``text`` (the policy's directory under /etc/selinux)."""
    match = re.search(r"^SELINUXTYPE=\s*(\S+)\s*$", text, re.M)
    return match.group(1).strip("\"'") if match else None


def _read(chroot: Chroot, image_path: str) -> Optional[str]:
    try:
        with open(chroot.path(image_path)) as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def set_mode(chroot: Chroot, mode_value: str, enabled: bool, kernel_args: Tuple[str, ...],
             boot_args: bool = True) -> List[str]:
    """Write the mode to the config file and (unless the boot loader was just regenerated with them) the
    kernel arguments; return notes. Refused, as the reference does, when SELinux is to be on without a policy."""
    text = _read(chroot, SELINUX_CONFIG)
    if enabled and text is None:
        raise StepError("config.os.selinux.mode: SELinux is enabled but policy file is missing (file='%s'): please "
                        "ensure an SELinux policy is installed." % SELINUX_CONFIG,
                        "Install a policy with the image, e.g. on Debian os.packages.install: [%s]."
                        % ", ".join(POLICY_PACKAGES))
    notes = []
    if boot_args:
        changed = replace_boot_args(chroot, SELINUX_ARG_NAMES, kernel_args)
        notes.append("SELinux kernel arguments (%s) in: %s" % (" ".join(kernel_args), ", ".join(changed) or "nothing"))
    if text is not None:
        host = chroot.path(SELINUX_CONFIG)
        with os_errors_as("write %s in the image" % SELINUX_CONFIG, host):
            atomic_write(host, config_with_mode(text, mode_value), os.stat(host).st_mode & 0o7777, fsync=False)
        notes.append("SELinux mode %s in %s" % (mode_value, SELINUX_CONFIG))
    return notes


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def labelled_mounts(root: str, mounts_text: str) -> List[str]:
    """Image paths of the writable filesystems under ``root`` that take labels (from /proc/self/mounts text),
    the root first; the chroot's API filesystems and read-only mounts are left out."""
    root = os.path.realpath(root).rstrip("/")
    found: List[str] = []
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        target, fstype, options = _unescape(fields[1]), fields[2], fields[3].split(",")
        if target != root and not target.startswith(root + "/"):
            continue
        image_path = target[len(root):] or "/"
        if fstype in LABELLED_FSTYPES and "ro" not in options and image_path not in found and \
                not any(image_path == api or image_path.startswith(api + "/") for api in API_MOUNTS):
            found.append(image_path)
    return sorted(found, key=lambda p: (p != "/", p))


def relabel(chroot: Chroot) -> List[str]:
    """setfiles (the image's) over each labelled filesystem of the image; return the paths relabelled."""
    text = _read(chroot, SELINUX_CONFIG) or ""
    kind = policy_type(text)
    contexts = "/etc/selinux/%s/contexts/files/file_contexts" % kind
    if not kind or not os.path.isfile(chroot.path(contexts)):
        raise StepError("config.os.selinux.mode: the image's SELinux policy has no file contexts (%s)." % contexts,
                        "Install a complete policy (Debian: %s)." % ", ".join(POLICY_PACKAGES))
    if not chroot.which("setfiles"):
        raise StepError("config.os.selinux.mode: the image has no setfiles to label its files.",
                        "Install policycoreutils in the image (os.packages.install).")
    with open("/proc/self/mounts") as handle:
        targets = labelled_mounts(chroot.root, handle.read())
    if "/" not in targets:
        raise StepError("config.os.selinux.mode: the image's root filesystem cannot be labelled here (it is not a "
                        "writable %s filesystem)." % ", ".join(LABELLED_FSTYPES),
                        "SELinux labels need a root filesystem with extended attributes.")
    for image_path in targets:
        holder = RELABEL_ROOT + ("" if image_path == "/" else image_path)
        host = chroot.path(holder)
        with os_errors_as("create %s in the image" % holder, host):
            os.makedirs(host, exist_ok=True)
        with mounted(chroot.path(image_path), host, bind=True):
            try:
                chroot.run(["setfiles", "-m", "-r", RELABEL_ROOT, contexts, holder], timeout=3600,
                           what="setfiles over %s" % image_path)
            except CommandError as err:
                raise StepError("config.os.selinux.mode: setfiles failed over %s (exit %s): %s"
                                % (image_path, err.returncode, err.output_tail),
                                "Check the image's SELinux policy packages.") from err
    return targets
