# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
import tempfile
import time
from typing import IO, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import redact

CHILD_PATH: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clean_env(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """A minimal, predictable environment for child processes (``extra`` merged over it)."""
    env = {
        "PATH": CHILD_PATH,
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


def source_date_env(epoch: Optional[int]) -> Dict[str, str]:
    """``SOURCE_DATE_EPOCH`` for a child's ``extra_env`` (reproducible outputs); empty for None."""
    return {} if epoch is None else {"SOURCE_DATE_EPOCH": str(epoch)}


def _present(name: str) -> bool:
    if name.startswith("/"):
        return os.path.exists(name)
    return shutil.which(name, path=clean_env()["PATH"]) is not None


def require_tools(*names: str) -> None:
    """Fail with the Debian packages to install if any host tool (or host file: an absolute path) is missing."""
    missing = [name for name in names if not _present(name)]
    if missing:
        packages = sorted({tools.debian_package(name) for name in missing})
        raise HostError(
            "missing host tool(s): %s." % ", ".join(missing),
            "Install them with: apt-get install %s"
            % " ".join(packages),
        )


def tail(text: Optional[str], lines: int = 20) -> str:
    """The last ``lines`` non-empty lines of ``text``, joined with ' | '."""
    rows = [row.rstrip() for row in (text or "").splitlines() if row.strip()]
    return redact(" | ".join(rows[-lines:]))


class Result(object):
    """What a finished command produced."""

    __slots__ = ("argv", "returncode", "stdout", "stderr", "seconds")

    def __init__(self, argv: List[str], returncode: int, stdout: str, stderr: str, seconds: float) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.seconds = seconds


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
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


def run(argv: Sequence[object], check: bool = True, input: Union[str, bytes, None] = None,
        env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None, merge_output: bool = False,
        timeout: Optional[float] = None, what: Optional[str] = None, tail_lines: int = 20,
        extra_env: Optional[Mapping[str, str]] = None) -> Result:
    """Run ``argv`` and return a :class:`Result`; raise CommandError on failure if ``check``.

    The child's environment is :func:`clean_env` with ``extra_env`` merged over it; ``env`` replaces the
    clean environment as a whole (``extra_env`` is still merged over it). ``merge_output`` sends stderr into
    stdout (for scripts, whose interleaved output is what a user wants to see). ``what`` names the command
    in errors.
    """
    args = [str(a) for a in argv]
    child_env = dict(clean_env() if env is None else env)
    child_env.update(extra_env or {})
    LOG.info("$ %s", redact(" ".join(args)))
    start = time.monotonic()
    try:
        # A session (and process group) of its own: on an interruption or a timeout the whole tree
        # (dracut's subshells, a script's children in the chroot) is stopped, not just the direct child,
        # so nothing keeps the image's mounts busy.
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        require_tools(args[0])
        raise
    try:
        out, err = proc.communicate(input.encode() if isinstance(input, str) else input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(proc)
        raise CommandError([redact(a) for a in args], "timeout", "no result after %s seconds" % timeout, what=what)
    except BaseException:
        stop_process_group(proc)
        raise
    seconds = time.monotonic() - start
    stdout = out.decode("utf-8", "replace")
    stderr = err.decode("utf-8", "replace") if err is not None else ""
    if stdout.strip():
        LOG.debug("%s", redact(stdout.rstrip()))
    if stderr.strip():
        LOG.debug("stderr: %s", redact(stderr.rstrip()))
    LOG.info("  exit %s after %.2fs", proc.returncode, seconds)
    if check and proc.returncode != 0:
        raise CommandError([redact(a) for a in args], proc.returncode,
                           tail(stderr, tail_lines) or tail(stdout, tail_lines), what=what)
    return Result(args, proc.returncode, stdout, stderr, seconds)


class Started(object):
    """A command :func:`started` in the background; :meth:`wait` gives its :class:`Result`."""

    def __init__(self, args: List[str], proc: "subprocess.Popen[bytes]", output: IO[bytes], what: Optional[str],
                 tail_lines: int) -> None:
        self.args, self.proc, self.output, self.what, self.tail_lines = args, proc, output, what, tail_lines
        self.started = time.monotonic()

    def wait(self, timeout: Optional[float] = None, check: bool = True) -> Result:
        """Wait for the command; raise CommandError on failure (``check``) or after ``timeout`` seconds."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(self.proc)
            raise CommandError([redact(a) for a in self.args], "timeout", "no result after %s seconds" % timeout,
                               what=self.what)
        seconds = time.monotonic() - self.started
        self.output.seek(0)
        stdout = self.output.read().decode("utf-8", "replace")
        if stdout.strip():
            LOG.debug("%s", redact(stdout.rstrip()))
        LOG.info("  exit %s after %.2fs (%s, in the background)", self.proc.returncode, seconds, self.args[0])
        if check and self.proc.returncode != 0:
            raise CommandError([redact(a) for a in self.args], self.proc.returncode, tail(stdout, self.tail_lines),
                               what=self.what)
        return Result(self.args, self.proc.returncode, stdout, "", seconds)


@contextlib.contextmanager
def started(argv: Sequence[object], what: Optional[str] = None, extra_env: Optional[Mapping[str, str]] = None,
            tail_lines: int = 20) -> Iterator[Started]:
    """``with started([...]) as job: ...; job.wait()``: ``argv`` runs in the background while the block runs,
    as :func:`run` runs it (clean environment, a session of its own, stdin closed; stdout and stderr together,
    into an unnamed temp file so a chatty command never blocks on a pipe). A job still running when the block
    is left (an error, SIGTERM) is stopped with everything it started."""
    args = [str(a) for a in argv]
    child_env = clean_env(extra_env)
    LOG.info("$ %s &", redact(" ".join(args)))
    with tempfile.TemporaryFile() as output:
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                    env=child_env, start_new_session=True)
        except FileNotFoundError:
            require_tools(args[0])
            raise
        try:
            yield Started(args, proc, output, what, tail_lines)
        finally:
            if proc.poll() is None:
                stop_process_group(proc)
