# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loop devices and mounts as context managers (private to this collection).

Every resource is released when its ``with`` block ends: on success, on an
exception, and on SIGTERM/SIGINT (see :func:`signals_raise`, which turns those
signals into an exception so the ``with`` blocks unwind).

Partition scanning (``losetup -P``) is not relied upon: each partition gets a
loop device of its own with ``--offset``/``--sizelimit``, which works on
kernels and in containers that create no partition device nodes.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    BuildInterrupted, CommandError, HostError)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import LOG, run


@contextlib.contextmanager
def signals_raise():
    """Turn SIGTERM/SIGINT into :class:`BuildInterrupted` for the duration of the block."""

    def handler(signum, frame):
        raise BuildInterrupted("interrupted by signal %s; all mounts and loop devices were released."
                               % signal.Signals(signum).name)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _deferred_signals():
    """Block SIGTERM/SIGINT while releasing a resource, so release is not cut short."""
    return _SignalsHeld()


def signals_held():
    """Block SIGTERM/SIGINT for a block that must not be cut in two (they are delivered after it)."""
    return _SignalsHeld()


class _SignalsHeld(object):
    def __enter__(self):
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        return self

    def __exit__(self, *exc):
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)
        return False


_LEDGER = {"path": None}


def set_ledger(path):
    """Record every loop device and mount made from now on in ``path`` (None: stop recording).

    The ledger lives in the build's work directory; after a ``kill -9`` the next build reads it to release
    exactly what the dead build held (see recovery.py).
    """
    _LEDGER["path"] = path


def _record(kind, *values):
    if _LEDGER["path"]:
        with open(_LEDGER["path"], "a") as handle:
            handle.write("\t".join((kind,) + values) + "\n")


def read_ledger(path):
    """[(kind, values...)] from a ledger file (missing file: [])."""
    try:
        with open(path) as handle:
            return [tuple(line.rstrip("\n").split("\t")) for line in handle if line.strip()]
    except OSError:
        return []


def attach_loop(path, offset=0, sizelimit=None, read_only=False):
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
        _record("loop", device, os.path.realpath(path))
        return device
    except CommandError as err:
        raise HostError(
            "cannot attach a loop device for %s (%s)." % (path, err.output_tail or err.returncode),
            "Load the loop module (modprobe loop) or, in a container, pass the /dev/loop* devices "
            "(e.g. --privileged).")


def detach_loop(device):
    for attempt in range(10):
        result = run(["losetup", "--detach", device], check=False)
        if result.returncode == 0 or "No such device" in result.stderr:
            return
        time.sleep(0.2 * (attempt + 1))
    LOG.warning("loop device %s could not be detached: %s", device, result.stderr.strip())


@contextlib.contextmanager
def loop_device(path, offset=0, sizelimit=None, read_only=False):
    """``with loop_device(img, offset=..., sizelimit=...) as dev:``; detached on exit."""
    with _deferred_signals():
        device = attach_loop(path, offset, sizelimit, read_only)
    try:
        yield device
    finally:
        with _deferred_signals():
            detach_loop(device)


def _mount_targets():
    """Mount points now, from /proc/self/mounts (octal escapes such as ``\\040`` decoded)."""
    with open("/proc/self/mounts") as handle:
        return [re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
                for line in handle if line.strip()]


def is_mounted(target):
    """Is ``target`` a mount point now (per /proc/self/mounts)?"""
    return os.path.realpath(target) in _mount_targets()


def unmount(target):
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
def mounted(source, target, fstype=None, options=None, bind=False):
    """Mount ``source`` at ``target`` for the block; ``target`` must exist."""
    argv = ["mount"]
    if bind:
        argv.append("--bind")
    if fstype:
        argv += ["-t", fstype]
    if options:
        argv += ["-o", ",".join(options)]
    argv += [source, target]
    with _deferred_signals():
        _record("mount", os.path.realpath(target))
        run(argv, what="mounting %s at %s" % (source, target))
    try:
        yield target
    finally:
        with _deferred_signals():
            unmount(target)


def kernel_filesystems():
    """Filesystem types the running kernel can mount now (from /proc/filesystems)."""
    try:
        with open("/proc/filesystems") as handle:
            return {line.split()[-1] for line in handle if line.strip()}
    except OSError:
        return set()


def mounts_under(prefix):
    """Mount points at or below ``prefix`` (deepest first), from /proc/self/mounts."""
    prefix = os.path.realpath(prefix)
    found = [target for target in _mount_targets()
             if target == prefix or target.startswith(prefix.rstrip("/") + "/")]
    return sorted(found, key=len, reverse=True)


def loops_backed_by(prefix):
    """Loop devices whose backing file lies at or below ``prefix``."""
    prefix = os.path.realpath(prefix)
    result = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=False)
    found = []
    for line in result.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            back = parts[1].strip().replace(" (deleted)", "")
            if back == prefix or back.startswith(prefix.rstrip("/") + "/"):
                found.append(parts[0])
    return found
