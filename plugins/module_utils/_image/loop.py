# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loop devices as context managers (private to this collection).

Partition scanning (``losetup -P``) is not relied upon: each partition gets a loop device of its own with
``--offset``/``--sizelimit``, which works on kernels and in containers that create no partition device nodes.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator, List, Optional

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.signals import signals_held
from ansible_collections.liveiso.customizer.plugins.module_utils._image.ledger import LedgerKind, _record


def attach_loop(path: str, offset: int = 0, sizelimit: Optional[int] = None, read_only: bool = False) -> str:
    """Attach ``path`` (from ``offset``, ``sizelimit`` bytes) to a free loop device; return its path."""
    argv = ["losetup", "--find", "--show"]
    if offset:
        argv += ["--offset", str(offset)]
    if sizelimit:
        argv += ["--sizelimit", str(sizelimit)]
    if read_only:
        argv.append("--read-only")
    argv.append(path)
    try:
        device = run(argv, what="attaching a loop device").stdout.strip()
        _record(LedgerKind.LOOP, device, os.path.realpath(path))
        return device
    except CommandError as err:
        raise HostError(
            "cannot attach a loop device for %s (%s)." % (path, err.output_tail or err.returncode),
            "Load the loop module (modprobe loop) or, in a container, pass the /dev/loop* devices "
            "(e.g. --privileged).")


def detach_loop(device: str) -> None:
    """Detach loop device ``device``, retrying while it is busy; a warning if it stays attached."""
    for attempt in range(10):
        result = run(["losetup", "--detach", device], check=False)
        if result.returncode == 0 or "No such device" in result.stderr:
            return
        time.sleep(0.2 * (attempt + 1))
    LOG.warning("loop device %s could not be detached: %s", device, result.stderr.strip())


@contextlib.contextmanager
def loop_device(path: str, offset: int = 0, sizelimit: Optional[int] = None, read_only: bool = False
                ) -> Iterator[str]:
    """``with loop_device(img, offset=..., sizelimit=...) as dev:``; detached on exit."""
    with signals_held():
        device = attach_loop(path, offset, sizelimit, read_only)
    try:
        yield device
    finally:
        with signals_held():
            detach_loop(device)


def loops_backed_by(prefix: str) -> List[str]:
    """Loop devices whose backing file lies at or below ``prefix``."""
    prefix = os.path.realpath(prefix)
    result = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=False)
    found: List[str] = []
    for line in result.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            back = parts[1].strip().replace(" (deleted)", "")
            if back == prefix or back.startswith(prefix.rstrip("/") + "/"):
                found.append(parts[0])
    return found
