# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``os.bootloader.resetType: hard-reset`` (older: ``os.resetBootLoaderType``) (private to this collection).

The boot loader configuration is regenerated from scratch with the image's own tools, in its chroot:
``GRUB_CMDLINE_LINUX`` in /etc/default/grub is reset to the config's ``kernelCommandLine.extraCommandLine``
and SELinux arguments (the customized arguments of the base image are dropped, as the reference documents),
then ``update-grub`` (Debian) or ``grub2-mkconfig``/``grub-mkconfig`` writes grub.cfg anew. In the chroot the
root is a loop device on a work file, which grub-probe cannot map to a disk: while grub-mkconfig runs, the
image's grub-probe is replaced by a script that answers for the root filesystem (its UUID and type), so the
entries say ``root=UUID=`` and ``search --fs-uuid`` as on an installed system; a separate /boot is not
supported by that stand-in.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, StepError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import grub_quote, shell_dq_escape
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.signals import signals_held

KEY: str = "config.os.bootloader.resetType"
DEFAULT_GRUB: str = "/etc/default/grub"


def with_cmdline(text: str, args: Sequence[str]) -> str:
    """/etc/default/grub ``text`` with GRUB_CMDLINE_LINUX set to exactly ``args``."""
    line = 'GRUB_CMDLINE_LINUX="%s"' % shell_dq_escape(" ".join(grub_quote(arg) for arg in args))
    pattern = re.compile(r'^GRUB_CMDLINE_LINUX=(?:"(?:[^"\\]|\\.)*"|\'[^\']*\'|\S*)[ \t]*$', re.M)
    if pattern.search(text):
        return pattern.sub(lambda m: line, text, count=1)
    return text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"


def mkconfig_argv(chroot: Chroot) -> Optional[Tuple[List[str], str]]:
    """(argv, grub.cfg image path) of the image's tool that writes grub.cfg, or None."""
    if chroot.which("update-grub"):
        return ["update-grub"], "/boot/grub/grub.cfg"
    if chroot.which("grub2-mkconfig"):
        return ["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"], "/boot/grub2/grub.cfg"
    if chroot.which("grub-mkconfig"):
        return ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"], "/boot/grub/grub.cfg"
    return None


GRUB_PROBE: str = "/usr/sbin/grub-probe"
GRUB_FS: Dict[str, str] = {"ext2": "ext2", "ext3": "ext2", "ext4": "ext2", "xfs": "xfs", "btrfs": "btrfs"}
# grub-probe answers for the root filesystem; anything else goes to the real grub-probe.
SHIM: str = """#!/bin/sh
# Written by liveiso.customizer for grub-mkconfig in a chroot (the image's root is a loop device here)
target=
while [ $# -gt 0 ]; do
  case "$1" in
    --target=*) target=${1#--target=} ;;
    -t) shift; target=$1 ;;
  esac
  shift
done
case "$target" in
  device) echo 'UUID=%(uuid)s' ;;
  fs_uuid) echo '%(uuid)s' ;;
  fs) echo '%(fs)s' ;;
  partmap) echo gpt ;;
  partuuid|abstraction|hints_string|compatibility_hint) echo ;;
  *) echo "grub-probe (liveiso.customizer): target $target not known in a customization chroot" >&2; exit 1 ;;
esac
"""


def root_filesystem(root: str, mounts_text: str) -> Optional[Tuple[str, str]]:
    """(device, fstype) of the filesystem mounted at ``root`` (from /proc/self/mounts text), or None."""
    found = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == os.path.realpath(root):
            found = (fields[0], fields[2])
    return found if found and found[0].startswith("/dev/") else None


def shim_text(uuid: str, fstype: str) -> str:
    return SHIM % {"uuid": uuid, "fs": GRUB_FS.get(fstype, fstype)}


@contextlib.contextmanager
def grub_probe_answers(chroot: Chroot) -> Iterator[None]:
    """grub-probe cannot map the build's loop device (by offset, in a work file) to a disk: for the block, the
    image's grub-probe is set aside and one answering for the root filesystem (``root=UUID=``, ``search
    --fs-uuid``) stands in; the image's own is put back after."""
    with open("/proc/self/mounts") as handle:
        found = root_filesystem(chroot.root, handle.read())
    host = chroot.path(GRUB_PROBE)
    if found is None or not os.path.isfile(host):
        yield
        return
    uuid = run(["blkid", "--match-tag", "UUID", "--output", "value", found[0]], what="blkid of the image's root").stdout
    if not uuid.strip():
        raise StepError("%s: the image's root filesystem (%s) has no UUID for grub-mkconfig." % (KEY, found[0]))
    saved = host + ".liveiso-real"
    with signals_held():
        os.rename(host, saved)
        with open(host, "w") as handle:
            handle.write(shim_text(uuid.strip(), found[1]))
        os.chmod(host, 0o755)
    try:
        yield
    finally:
        with signals_held():
            os.replace(saved, host)


def hard_reset(chroot: Chroot, args: Sequence[str]) -> str:
    """Regenerate grub.cfg with kernel arguments ``args``; return a note."""
    tool = mkconfig_argv(chroot)
    if tool is None:
        raise StepError("%s: hard-reset needs the image's grub-mkconfig (update-grub, grub2-mkconfig or "
                        "grub-mkconfig); the image has none." % KEY,
                        "Install the boot loader's tools in the image (Debian: grub2-common with grub-efi-amd64 "
                        "or grub-pc), or remove resetType.")
    argv, grub_cfg = tool
    host = chroot.path(DEFAULT_GRUB)
    with os_errors_as("write %s in the image" % DEFAULT_GRUB, host):
        text = ""
        if os.path.isfile(host):
            with open(host) as handle:
                text = handle.read()
        os.makedirs(os.path.dirname(host), exist_ok=True)
        atomic_write(host, with_cmdline(text, args), 0o644, fsync=False)
    try:
        with grub_probe_answers(chroot):
            chroot.run(argv, timeout=900, what=" ".join(argv))
    except CommandError as err:
        raise StepError("%s: %s failed (exit %s): %s" % (KEY, " ".join(argv), err.returncode, err.output_tail),
                        "The image's grub-mkconfig must be able to find its root filesystem in the chroot.") from err
    return "boot loader reset: %s regenerated by %s" % (grub_cfg, argv[0])
