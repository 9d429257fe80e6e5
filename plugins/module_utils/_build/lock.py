# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One build of an output at a time (private to this collection): an ``flock`` beside the output."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import Iterator

from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG


@contextlib.contextmanager
def output_lock(output: str, check_mode: bool = False) -> Iterator[float]:
    """Serialise builds of the same output: a second build waits for the first, then finds it current.

    The lock is ``flock`` on ``.<output name>.liveiso-lock`` beside the output: the kernel drops it when its
    holder dies, however it dies. The holder removes the file when done; a waiter that then holds a lock on
    the removed file starts over on the new one. Yields the seconds spent waiting. Check mode writes
    nothing, not even this.
    """
    if check_mode:
        yield 0.0
        return
    path = os.path.join(os.path.dirname(output), "." + os.path.basename(output) + ".liveiso-lock")
    start = time.monotonic()
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            LOG.info("another build of %s is running: waiting for it", output)
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break  # locked the file that is there now
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield round(time.monotonic() - start, 3)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
