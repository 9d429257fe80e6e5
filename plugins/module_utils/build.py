# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-build state: work directory, log, step timings, atomic publication (private to this collection).

A :class:`Build` is a context manager. Entering it creates a fresh work
directory (inside ``build_dir`` when given, else next to the output so the
final rename is atomic and reflinks work), attaches the build log and turns
SIGTERM/SIGINT into an exception. Leaving it, however it is left, removes the
work directory and anything half-written at the output's temp path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time

from ansible_collections.liveiso.customizer.plugins.module_utils.errors import HostError
from ansible_collections.liveiso.customizer.plugins.module_utils.mounts import signals_raise
from ansible_collections.liveiso.customizer.plugins.module_utils.runner import LOG, require_tools

MARKER = ".liveiso-build"


def require_root():
    if os.geteuid() != 0:
        raise HostError("liveiso.customizer must run as root: it attaches loop devices, mounts filesystems "
                        "and runs a chroot.", "Run the task with become: true.")


def check_output_path(output):
    directory = os.path.dirname(os.path.abspath(output)) or "."
    if not os.path.isdir(directory):
        raise HostError("output directory %s does not exist." % directory, "Create it first.")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise HostError("output directory %s is not writable." % directory,
                        "Choose a writable output path or fix the directory's permissions.")
    if os.path.isdir(output):
        raise HostError("output %s is a directory." % output, "Give a file path for output.")


class Build(object):
    """``with Build(output, build_dir) as build:`` ... ``build.publish(tmp)``."""

    def __init__(self, output, build_dir=None, tools=()):
        self.output = os.path.abspath(output)
        self.build_dir = os.path.abspath(build_dir) if build_dir else None
        self.tools = tools
        self.steps = []
        self.workdir = None
        self.log_path = None
        self._handler = None
        self._stack = None
        self._temp_outputs = []

    def __enter__(self):
        require_root()
        require_tools(*self.tools)
        check_output_path(self.output)
        parent = self.build_dir or os.path.dirname(self.output)
        os.makedirs(parent, exist_ok=True)
        self._stack = contextlib.ExitStack()
        self._stack.__enter__()
        try:
            self._stack.enter_context(signals_raise())
            self.workdir = tempfile.mkdtemp(prefix=".liveiso-build-", dir=parent)
            self._stack.callback(self._remove_workdir)
            with open(os.path.join(self.workdir, MARKER), "w") as handle:
                handle.write("%d\n%s\n" % (os.getpid(), self.output))
            self.log_path = os.path.join(self.build_dir or self.workdir,
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

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def _detach_log(self):
        LOG.removeHandler(self._handler)
        self._handler.close()

    def _remove_workdir(self):
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _remove_temp_outputs(self):
        for path in self._temp_outputs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    @contextlib.contextmanager
    def step(self, name):
        """Time and log one named step; its seconds go into the result."""
        LOG.info("==> %s", name)
        start = time.monotonic()
        try:
            yield
        finally:
            seconds = round(time.monotonic() - start, 3)
            self.steps.append({"name": name, "seconds": seconds})
            LOG.info("<== %s (%.2fs)", name, seconds)
            hook = os.environ.get("LIVEISO_TEST_SIGNAL_AFTER_STEP")
            if hook and hook == name:  # test-only fault injection (hardening tests)
                os.kill(os.getpid(), 15)

    def temp_output(self):
        """A fresh path next to the output, removed on exit unless published."""
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(self.output) + ".tmp-",
                                   dir=os.path.dirname(self.output))
        os.close(fd)
        self._temp_outputs.append(tmp)
        return tmp

    def publish(self, tmp):
        """Atomically move ``tmp`` (from :meth:`temp_output`) to the output path."""
        os.chmod(tmp, 0o644)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.output)
        self._temp_outputs.remove(tmp)
