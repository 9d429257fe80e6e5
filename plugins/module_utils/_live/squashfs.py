# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live root filesystem as a squashfs image (private to this collection).

The root tree is packed as it is mounted (mksquashfs descends into the
image's own sub-mounts such as a separate /var), with xattrs, without
``/boot`` contents, and without the customizer's own temporary files. The
disk's ``/etc/fstab`` is replaced by one that mounts nothing (a live system
mounts none of the disk's filesystems); the file must exist: tools read it
unconditionally (Debian's dhclient-script exits on a missing /etc/fstab and
declines every DHCP lease).
"""

from __future__ import annotations

import os
import shlex

from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run

COMPRESSORS = ("zstd", "xz", "gzip", "lz4")
LEVELS = {"zstd": (1, 22), "xz": None, "gzip": (1, 9), "lz4": None}
# The live root's /etc/fstab (a mksquashfs pseudo file: the image's own is excluded, this one is added).
LIVE_FSTAB = "# Live system: the root is the squashfs on the medium, under an overlay. No disk filesystems.\n"
# Paths (relative to the root) left out of the live root filesystem.
EXCLUDES = ("boot/*", "etc/fstab", "etc/resolv.conf.liveiso-saved", "var/tmp/liveiso-customizer-scripts",
            "lost+found")


def mksquashfs_argv(root, dest, compression="zstd", level=None, processors=None):
    argv = ["mksquashfs", root, dest, "-noappend", "-no-progress", "-xattrs", "-comp", compression]
    if level is not None:
        argv += ["-Xcompression-level", str(level)]
    if compression == "xz":
        argv += ["-Xbcj", "x86"]
    if processors:
        argv += ["-processors", str(processors)]
    argv += ["-p", "etc/fstab f 644 0 0 printf %s" % shlex.quote(LIVE_FSTAB.replace("\n", "\\n"))]
    argv += ["-wildcards", "-e"] + list(EXCLUDES)
    return argv


def make_squashfs(root, dest, compression="zstd", level=None, source_date_epoch=None):
    env = clean_env({"SOURCE_DATE_EPOCH": str(source_date_epoch)} if source_date_epoch is not None else None)
    run(mksquashfs_argv(root, dest, compression, level), env=env, what="mksquashfs (packing the root filesystem)",
        timeout=7200)
    return os.path.getsize(dest)
