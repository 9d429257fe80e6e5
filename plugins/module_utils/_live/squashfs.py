# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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

import contextlib
import os
import shlex
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Started, run, source_date_env, started
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import SAVED_SUFFIX
from ansible_collections.liveiso.customizer.plugins.module_utils._image.steps import SCRIPT_DIR


class Compression(StrEnum):
    """A squashfs compressor, with the compression levels mksquashfs takes for it and its arguments."""

    ZSTD = "zstd"
    XZ = "xz"
    GZIP = "gzip"
    LZ4 = "lz4"

    @property
    def level_bounds(self) -> Optional[Tuple[int, int]]:
        """(lowest, highest) ``-Xcompression-level``, or None when the compressor takes no level."""
        return {"zstd": (1, 22), "gzip": (1, 9)}.get(self.value)

    def mksquashfs_args(self, level: Optional[int] = None) -> List[str]:
        """The mksquashfs arguments that compress with this compressor (at ``level``, if given)."""
        args = ["-comp", self.value]
        if level is not None:
            args += ["-Xcompression-level", str(level)]
        if self is Compression.XZ:
            args += ["-Xbcj", "x86"]  # the x86 branch filter: smaller executables
        return args


COMPRESSORS: Tuple[str, ...] = tuple(compression.value for compression in Compression)
LEVELS: Dict[str, Optional[Tuple[int, int]]] = {compression.value: compression.level_bounds
                                                for compression in Compression}
# The live root's /etc/fstab (a mksquashfs pseudo file: the image's own is excluded, this one is added).
LIVE_FSTAB = "# Live system: the root is the squashfs on the medium, under an overlay. No disk filesystems.\n"
# Paths (relative to the root) left out of the live root filesystem.
EXCLUDES: Tuple[str, ...] = ("boot/*", "etc/fstab", "etc/resolv.conf" + SAVED_SUFFIX, SCRIPT_DIR.lstrip("/"),
                             "lost+found")


def mksquashfs_argv(root: str, dest: str, compression: Union[Compression, str] = Compression.ZSTD,
                    level: Optional[int] = None) -> List[str]:
    argv = ["mksquashfs", root, dest, "-noappend", "-no-progress", "-xattrs"]
    argv += Compression(compression).mksquashfs_args(level)
    argv += ["-p", "etc/fstab f 644 0 0 printf %s" % shlex.quote(LIVE_FSTAB.replace("\n", "\\n"))]
    argv += ["-wildcards", "-e"] + list(EXCLUDES)
    return argv


def make_squashfs(root: str, dest: str, compression: Union[Compression, str] = Compression.ZSTD,
                  level: Optional[int] = None, source_date_epoch: Optional[int] = None) -> int:
    """Pack the tree at ``root`` into the squashfs image ``dest``; return its size in bytes."""
    run(mksquashfs_argv(root, dest, compression, level), extra_env=source_date_env(source_date_epoch),
        what="mksquashfs (packing the root filesystem)", timeout=7200)
    with os_errors_as("read the squashfs image", dest):
        return os.path.getsize(dest)


# mksquashfs in a mount namespace of its own, made private: it packs the tree as it was mounted when it started,
# and the API filesystems mounted later for dracut's chroot (/dev, /proc, /sys, /run) never show in it.
PRIVATE_MOUNTS: Tuple[str, ...] = ("unshare", "--mount", "--propagation", "private", "--")


@contextlib.contextmanager
def squashfs_started(root: str, dest: str, compression: Union[Compression, str] = Compression.ZSTD,
                     level: Optional[int] = None, source_date_epoch: Optional[int] = None) -> Iterator[Started]:
    """:func:`make_squashfs` in the background, for the block (the live initrd is built meanwhile from the
    same root): ``with squashfs_started(...) as job: ...; job.wait()``. The root must not change while it
    runs: the block only reads it (dracut writes to its work directory on the chroot's /run tmpfs, which this
    mksquashfs does not see)."""
    argv = list(PRIVATE_MOUNTS) + mksquashfs_argv(root, dest, compression, level)
    with started(argv, what="mksquashfs (packing the root filesystem)",
                 extra_env=source_date_env(source_date_epoch)) as job:
        yield job
