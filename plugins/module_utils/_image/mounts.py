# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mounts as context managers (private to this collection).

Every mount is released when its ``with`` block ends: on success, on an exception, and on SIGTERM/SIGINT
(see ``_core/signals.py``, which turns those signals into an exception so the ``with`` blocks unwind).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from typing import Iterator, List, Optional, Sequence, Set

from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.signals import signals_held
from ansible_collections.liveiso.customizer.plugins.module_utils._image.ledger import LedgerKind, _record


def _mount_targets() -> List[str]:
    """Mount points now, from /proc/self/mounts (octal escapes such as ``\\040`` decoded)."""
    with open("/proc/self/mounts") as handle:
        return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
                for line in handle if line.strip()]


def is_mounted(target: str) -> bool:
    """Is ``target`` a mount point now (per /proc/self/mounts)?"""
    return os.path.realpath(target) in _mount_targets()


def unmount(target: str) -> None:
    """Unmount ``target``; retry while busy, then detach lazily as a last resort."""
    for attempt in range(8):
        if not is_mounted(target):
            return
        result = run(["umount", target], check=False)
        if result.returncode == 0:
            return
        time.sleep(0.25 * (attempt + 1))
    LOG.warning("%s stayed busy; detaching it lazily", target)
    run(["umount", "--lazy", target], check=False)


@contextlib.contextmanager
def mounted(source: str, target: str, fstype: Optional[str] = None, options: Optional[Sequence[str]] = None,
            bind: bool = False) -> Iterator[str]:
    """Mount ``source`` at ``target`` for the block; ``target`` must exist."""
    argv = ["mount"]
    if bind:
        argv.append("--bind")
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    argv += [source, target]
    with signals_held():
        _record(LedgerKind.MOUNT, os.path.realpath(target))
        run(argv, what="mounting %s at %s" % (source, target))
    try:
        yield target
    finally:
        with signals_held():
            unmount(target)


def kernel_filesystems() -> Set[str]:
    """Filesystem types the running kernel can mount now (from /proc/filesystems)."""
    try:
        with open("/proc/filesystems") as handle:
            return {line.split()[-1] for line in handle if line.strip()}
    except OSError:
        return set()


def mounts_under(prefix: str) -> List[str]:
    """Mount points at or below ``prefix`` (deepest first), from /proc/self/mounts."""
    prefix = os.path.realpath(prefix)
    found = [target for target in _mount_targets()
             if target == prefix or target.startswith(prefix.rstrip("/") + "/")]
    return sorted(found, key=len, reverse=True)
