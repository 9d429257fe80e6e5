# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host preflight (private to this collection): root, the output directory, free space."""

from __future__ import annotations

import os
from typing import Dict, List, Mapping, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import HostError


def require_root() -> None:
    if os.geteuid() != 0:
        raise HostError("liveiso.customizer must run as root: it attaches loop devices, mounts filesystems "
                        "and runs a chroot.", "Run the task with become: true.")


def check_output_path(output: str) -> None:
    directory = os.path.dirname(os.path.abspath(output)) or "."
    if not os.path.isdir(directory):
        raise HostError("output directory %s does not exist." % directory, "Create it first.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise HostError("output directory %s is not writable." % directory,
                        "Choose a writable output path or fix the directory's permissions.")
    if os.path.isdir(output):
        raise HostError("output %s is a directory." % output, "Give a file path for output.")


def free_bytes(directory: str) -> int:
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def allocated_bytes(path: str) -> int:
    """Bytes a file occupies on disk (a sparse image counts its data only)."""
    return os.stat(path).st_blocks * 512


def ensure_space(needs: Mapping[str, int]) -> None:
    """``needs`` is {directory: bytes}; fail clearly before a build that cannot fit.

    Directories on the same filesystem add up. The figures are estimates from the input's size: a build
    that fits them can still run out (its ENOSPC is reported the same way by :meth:`Build.step`).
    """
    by_device: Dict[int, Tuple[List[str], int]] = {}
    for directory, needed in needs.items():
        device = os.stat(directory).st_dev
        dirs, total = by_device.get(device, ([], 0))
        by_device[device] = (dirs + [directory], total + needed)
    for dirs, needed in by_device.values():
        free = free_bytes(dirs[0])
        if needed > free:
            raise HostError("not enough space in %s: this build needs about %d MiB there, %d MiB are free."
                            % (" and ".join(sorted(set(dirs))), -(-needed // 1048576), free // 1048576),
                            "Free space there, or point build_dir (work files) or output at a larger filesystem.")
