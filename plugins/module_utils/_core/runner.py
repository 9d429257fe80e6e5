# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only way this library starts a process (private to this collection).

``run()`` takes an argv list (never a shell string), runs it with ``LC_ALL=C``,
stdin closed unless input is given, output captured, and raises
:class:`CommandError` carrying the command, exit code and the tail of its
output. Every command and its output go to the build log. Registered secrets
are masked in the log and in error messages.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import redact

# Host tool -> Debian package that provides it (named in "missing tool" errors).
TOOL_PACKAGES = {
    "blkid": "util-linux",
    "chroot": "coreutils",
    "cp": "coreutils",
    "debootstrap": "debootstrap",
    "dd": "coreutils",
    "findmnt": "util-linux",
    "grub-mkimage": "grub-common",
    "losetup": "mount",
    "mcopy": "mtools",
    "mdel": "mtools",
    "mdir": "mtools",
    "mformat": "mtools",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools",
    "mksquashfs": "squashfs-tools",
    "mmd": "mtools",
    "mount": "mount",
    "mrd": "mtools",
    "qemu-img": "qemu-utils",
    "qemu-system-x86_64": "qemu-system-x86",
    "sfdisk": "fdisk",
    "umount": "mount",
    "unsquashfs": "squashfs-tools",
    "xorriso": "xorriso",
}







def clean_env(extra=None):
    """A minimal, predictable environment for child processes."""
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": "/root",
    }
    for key in ("TMPDIR", "SOURCE_DATE_EPOCH"):
        if key in os.environ:
            env[key] = os.environ[key]
    if extra:
        env.update(extra)
    return env


def require_tools(*names):
    """Fail with the Debian packages to install if any host tool is missing."""
    missing = [name for name in names if shutil.which(name, path=clean_env()["PATH"]) is None]
    if missing:
        packages = sorted({TOOL_PACKAGES.get(name, name) for name in missing})
        raise HostError(
            "missing host tool(s): %s." % ", ".join(missing),
            "Install them with: apt-get install %s"
            % " ".join(packages),
        )


def tail(text, lines=20):
    """The last ``lines`` non-empty lines of ``text``, joined with ' | '."""
    rows = [row.rstrip() for row in (text or "").splitlines() if row.strip()]
    return redact(" | ".join(rows[-lines:]))


class Result(object):
    """What a finished command produced."""

    __slots__ = ("argv", "returncode", "stdout", "stderr", "seconds")

    def __init__(self, argv, returncode, stdout, stderr, seconds):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds


def stop_process_group(proc, grace=5.0):
    """Stop ``proc`` and everything it started (its process group): SIGTERM, then SIGKILL after ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            # the leader is gone; its group may not be: one more SIGKILL for stragglers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


def run(argv, check=True, input=None, env=None, cwd=None, merge_output=False, timeout=None, what=None,
        tail_lines=20):
    """Run ``argv`` and return a :class:`Result`; raise CommandError on failure if ``check``.

    ``merge_output`` sends stderr into stdout (for scripts, whose interleaved
    output is what a user wants to see). ``what`` names the command in errors.
    """
    argv = [str(a) for a in argv]
    child_env = clean_env() if env is None else env
    LOG.info("$ %s", redact(" ".join(argv)))
    start = time.monotonic()
    try:
        # A session (and process group) of its own: on an interruption or a timeout the whole tree
        # (dracut's subshells, a script's children in the chroot) is stopped, not just the direct child,
        # so nothing keeps the image's mounts busy.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        require_tools(argv[0])
        raise
    try:
        out, err = proc.communicate(input.encode() if isinstance(input, str) else input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        raise CommandError([redact(a) for a in argv], "timeout", "no result after %s seconds" % timeout, what=what)
    except BaseException:
        stop_process_group(proc)
        raise
    proc.stdout, proc.stderr = out, err
    seconds = time.monotonic() - start
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace") if proc.stderr is not None else ""
    if stdout.strip():
        LOG.debug("%s", redact(stdout.rstrip()))
    if stderr.strip():
        LOG.debug("stderr: %s", redact(stderr.rstrip()))
    LOG.info("  exit %s after %.2fs", proc.returncode, seconds)
    if check and proc.returncode != 0:
        raise CommandError([redact(a) for a in argv], proc.returncode,
                           tail(stderr, tail_lines) or tail(stdout, tail_lines), what=what)
    return Result(argv, proc.returncode, stdout, stderr, seconds)
