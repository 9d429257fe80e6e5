# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Find and release what a killed build left behind (private to this collection).

A build that is killed with SIGKILL (or whose host loses power) cannot unwind its ``with`` blocks: its
mounts, loop devices, work directory and half-written temp output stay. Every build therefore leaves
evidence: a work directory ``.liveiso-build-*`` holding a marker (owner pid and its start time) and a ledger
of each loop device and mount it made, and temp outputs named ``.<output>.tmp-<pid>-*``. Before a build
starts, :func:`release_stale` looks in its directories for evidence whose owner is no longer alive and
releases exactly that: mounts deepest first, loop devices only if still backed by the recorded file, then
the files. Builds that are still running are left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from typing import Iterable, Iterator, List, Optional, Pattern, Set, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import is_mounted, mounts_under, unmount
from ansible_collections.liveiso.customizer.plugins.module_utils._image.loop import detach_loop, loops_backed_by
from ansible_collections.liveiso.customizer.plugins.module_utils._image.ledger import read_ledger, set_ledger
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG

WORKDIR_PREFIX: str = ".liveiso-build-"
MARKER: str = ".liveiso-build"
LEDGER: str = "resources.ledger"
TEMP_RE: Pattern[str] = re.compile(r"\.(?P<name>.+)\.tmp-(?P<pid>\d+)@(?P<host>[^@/]*)-[^-/]+\Z")


def process_start_time(pid: int) -> Optional[str]:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22 counted from the pid


def this_host() -> str:
    return socket.gethostname().replace("@", "_").replace("/", "_")


def temp_prefix(output: str) -> str:
    """Name prefix of a build's temp output beside ``output``: it names the owner (pid@host)."""
    return ".%s.tmp-%d@%s-" % (os.path.basename(output), os.getpid(), this_host())


def marker_text(pid: Optional[int] = None) -> str:
    """pid, its start time and this host: a shared (NFS) directory may hold other hosts' builds."""
    pid = pid or os.getpid()
    return "%d\n%s\n%s\n" % (pid, process_start_time(pid) or "", this_host())


def owner_alive(pid: int, start_time: Optional[str] = None) -> bool:
    """Is the process that wrote a marker still running (and not a later process reusing its pid)?"""
    current = process_start_time(pid)
    if current is None:
        return False
    return not start_time or current == start_time


def _read_marker(workdir: str) -> Tuple[Optional[int], Optional[str], Optional[str]]:
    """(pid, start time, host) from a work dir's marker; (None, None, None) if unreadable."""
    try:
        with open(os.path.join(workdir, MARKER)) as handle:
            lines = handle.read().splitlines()
        return (int(lines[0]), (lines[1] if len(lines) > 1 and lines[1].isdigit() else None),
                lines[2] if len(lines) > 2 else None)
    except (OSError, ValueError, IndexError):
        return None, None, None


def _loop_backing(device: str) -> Optional[str]:
    result = run(["losetup", "--list", "--noheadings", "--output", "BACK-FILE", device], check=False)
    return result.stdout.strip().replace(" (deleted)", "") if result.returncode == 0 else None


def release_workdir(workdir: str) -> str:
    """Release the mounts and loop devices recorded in (or found under) ``workdir``, then remove it.

    Returns a description of what was released.
    """
    ledger = read_ledger(os.path.join(workdir, LEDGER))
    targets: Set[str] = {entry[1] for entry in ledger if entry[0] == "mount" and len(entry) > 1}
    targets.update(mounts_under(workdir))
    released_mounts = 0
    for target in sorted(targets, key=len, reverse=True):
        if is_mounted(target):
            unmount(target)
            released_mounts += 1
    loops: List[Tuple[str, ...]] = [entry[1:3] for entry in ledger if entry[0] == "loop" and len(entry) > 2]
    released_loops = 0
    for device, backing in loops:
        if _loop_backing(device) == backing:
            detach_loop(device)
            released_loops += 1
    for device in loops_backed_by(workdir):
        detach_loop(device)
        released_loops += 1
    shutil.rmtree(workdir, ignore_errors=True)
    return "%d mount(s), %d loop device(s) and work directory %s" % (released_mounts, released_loops, workdir)


@contextlib.contextmanager
def work_directory(parent: str, output: str = "") -> Iterator[Tuple[str, List[str]]]:
    """A fresh ``.liveiso-build-*`` directory in ``parent``, marked as this process's, recording every loop
    device and mount made while it exists; removed on exit. What killed builds left in ``parent`` is
    released first: ``with work_directory(parent) as (workdir, released):``."""
    released = release_stale([parent])
    workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=parent)
    try:
        with open(os.path.join(workdir, MARKER), "w") as handle:
            handle.write(marker_text() + output + "\n")
        set_ledger(os.path.join(workdir, LEDGER))
        try:
            yield workdir, released
        finally:
            set_ledger(None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def release_stale(directories: Iterable[str]) -> List[str]:
    """Release what dead builds left in ``directories``; return one line per stale build released."""
    released: List[str] = []
    seen: Set[str] = set()
    for directory in directories:
        directory = os.path.realpath(directory)
        if directory in seen or not os.path.isdir(directory):
            continue
        seen.add(directory)
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name.startswith(WORKDIR_PREFIX) and os.path.isdir(path):
                pid, start, host = _read_marker(path)
                if host is not None and host != this_host():
                    continue  # another host's build in a shared directory: not ours to judge
                if pid is not None and owner_alive(pid, start):
                    continue
                if pid is None and not os.path.exists(os.path.join(path, LEDGER)):
                    continue  # not ours, or a build that is just starting: leave it
                what = release_workdir(path)
                released.append("released what a killed build (pid %s) left: %s" % (pid, what))
            else:
                match = TEMP_RE.match(name)
                if match and match.group("host") == this_host() and not owner_alive(int(match.group("pid"))) \
                        and os.path.isfile(path):
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    released.append("removed the temp output of a killed build (pid %s): %s"
                                    % (match.group("pid"), path))
    for line in released:
        LOG.warning("%s", line)
    return released
