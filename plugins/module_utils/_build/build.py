# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-build state: work directory, log, step timings, atomic publication (private to this collection).

A :class:`Build` is a context manager. Entering it creates a fresh work
directory (inside ``build_dir`` when given, else next to the output so the
final rename is atomic and reflinks work), attaches the build log and turns
SIGTERM/SIGINT into an exception. Leaving it, however it is left, removes the
work directory and anything half-written at the output's temp path.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import tempfile
import threading
import time
from types import TracebackType
from typing import Callable, ContextManager, Iterator, List, Optional, Protocol, Sequence, Type, TypedDict

from ansible_collections.liveiso.customizer.plugins.module_utils._build.faults import _inject_fault_during
from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import check_output_path, require_root
from ansible_collections.liveiso.customizer.plugins.module_utils._build.workdir import (
    release_stale, temp_prefix, work_directory)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import sha256_file
from ansible_collections.liveiso.customizer.plugins.module_utils._core.log import LOG
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import require_tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.signals import signals_held, signals_raise
from ansible_collections.liveiso.customizer.plugins.module_utils._live.media import WorkFiles


class StepTiming(TypedDict):
    """One entry of the result's ``steps``: a step's name and how long it ran."""

    name: str
    seconds: float


class BuildSteps(WorkFiles, Protocol):
    """What the customization and Live ISO steps need of a :class:`Build`: named, timed steps and paths in
    the work directory."""

    def step(self, name: str) -> ContextManager[None]:
        """``with build.step("install-packages"):`` times and logs the block as one step."""


def _out_of_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    return isinstance(exc, CommandError) and "no space left on device" in str(exc).lower()


class Build(object):
    """``with Build(output, build_dir) as build:`` ... ``build.publish(tmp)``."""

    def __init__(self, output: str, build_dir: Optional[str] = None, tools: Sequence[str] = ()) -> None:
        self.output: str = os.path.abspath(output)
        self.build_dir: Optional[str] = os.path.abspath(build_dir) if build_dir else None
        self.tools: Sequence[str] = tools
        self.steps: List[StepTiming] = []
        self.log_path: Optional[str] = None  # set on entering
        self.recovered: List[str] = []  # what killed builds left, released on entering
        self._workdir: Optional[str] = None
        self._handler: Optional[logging.Handler] = None
        self._stack: contextlib.ExitStack = contextlib.ExitStack()
        self._temp_outputs: List[str] = []

    @property
    def workdir(self) -> str:
        """The work directory (it exists while the build is entered)."""
        if self._workdir is None:
            raise RuntimeError("the work directory of a build exists only inside its with block")
        return self._workdir

    def __enter__(self) -> Build:
        require_root()
        require_tools(*self.tools)
        check_output_path(self.output)
        parent = self.build_dir or os.path.dirname(self.output)
        os.makedirs(parent, exist_ok=True)
        self._stack = contextlib.ExitStack()
        self._stack.__enter__()
        try:
            self._stack.enter_context(signals_raise())
            # what builds killed with SIGKILL left here (mounts, loop devices, temp files) goes first
            self.recovered = release_stale([os.path.dirname(self.output)]) if self.build_dir else []
            self._workdir, released = self._stack.enter_context(work_directory(parent, self.output))
            self.recovered += released
            self.log_path = os.path.join(self.build_dir or self._workdir,
                                         os.path.basename(self.output) + ".build.log")
            self._handler = logging.FileHandler(self.log_path, mode="w")
            self._handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
            LOG.addHandler(self._handler)
            LOG.setLevel(logging.DEBUG)
            self._stack.callback(self._detach_log)
            self._stack.callback(self._remove_temp_outputs)
        except BaseException:
            self._stack.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 traceback: Optional[TracebackType]) -> Optional[bool]:
        return self._stack.__exit__(exc_type, exc, traceback)

    def _detach_log(self) -> None:
        if self._handler is not None:
            LOG.removeHandler(self._handler)
            self._handler.close()

    def _remove_temp_outputs(self) -> None:
        for path in self._temp_outputs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def path(self, *parts: str) -> str:
        """A path in the work directory."""
        return os.path.join(self.workdir, *parts)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time and log one named step; its seconds go into the result."""
        LOG.info("==> %s", name)
        start = time.monotonic()
        _inject_fault_during(name)
        try:
            yield
        except (OSError, CommandError) as exc:
            if not _out_of_space(exc):
                raise
            raise HostError("no space left on the device during step %s (work files in %s, output in %s): %s"
                            % (name, os.path.dirname(self.workdir), os.path.dirname(self.output), exc),
                            "Free space there, or point build_dir (work files) or output at a larger "
                            "filesystem. Nothing was published; the work files were removed.") from exc
        finally:
            seconds = round(time.monotonic() - start, 3)
            self.steps.append({"name": name, "seconds": seconds})
            LOG.info("<== %s (%.2fs)", name, seconds)
            hook = os.environ.get("LIVEISO_TEST_SIGNAL_AFTER_STEP")
            if hook and hook == name:  # test-only fault injection (hardening tests)
                os.kill(os.getpid(), signal.SIGTERM)

    def temp_output(self) -> str:
        """A fresh path next to the output, removed on exit unless published."""
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(self.output),
                                   dir=os.path.dirname(self.output))
        os.close(fd)
        self._temp_outputs.append(tmp)
        return tmp

    def checksum(self, tmp: str, known: Optional[str] = None, compute: bool = True) -> Optional[str]:
        """sha256 of ``tmp``, hashed while the kernel writes it to disk (fsync in a second thread).

        ``known``: the sha256 that the step which wrote ``tmp`` computed from the bytes it wrote (the fast
        path hashes while it copies); then this only syncs, as it does (returning None) without ``compute``.
        """
        errors: List[OSError] = []

        def sync() -> None:
            try:
                with open(tmp, "rb") as handle:
                    os.fsync(handle.fileno())
            except OSError as exc:  # reported below, in this thread
                errors.append(exc)

        syncer = threading.Thread(target=sync, name="fsync-output", daemon=True)
        syncer.start()
        try:
            return known or (sha256_file(tmp) if compute else None)
        finally:
            syncer.join()
            if errors:
                raise errors[0]

    def commit(self, tmp: str, write_stamp: Callable[[], object]) -> None:
        """The commit point: publish ``tmp`` and write its stamp as one unit.

        SIGTERM/SIGINT are held for these two calls: a build interrupted before them leaves the previous
        output as it was; one interrupted after them has succeeded (output and stamp agree).
        """
        with signals_held():
            self.publish(tmp)
            write_stamp()

    def publish(self, tmp: str) -> None:
        """Atomically move ``tmp`` (from :meth:`temp_output`) to the output path."""
        os.chmod(tmp, 0o644)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.output)
        self._temp_outputs.remove(tmp)
