# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A chroot to customize an image root in (private to this collection).

:func:`chroot_environment` binds ``/dev``, mounts ``/proc``, ``/sys`` and a
fresh ``/run``, keeps services from starting during package installs
(``policy-rc.d`` and ``SYSTEMD_OFFLINE``), and can provide the host's DNS
configuration; everything is undone on exit, the image's own
``/etc/resolv.conf`` and ``policy-rc.d`` restored exactly as they were.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import Dict, Iterator, Mapping, Optional, Sequence, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result, clean_env, run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import resolve_in_root
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted

POLICY_RC_D: str = "#!/bin/sh\n# Written by liveiso.customizer during customization: start no services.\nexit 101\n"
# An image file replaced for the customization (resolv.conf, policy-rc.d) waits beside it under this suffix.
SAVED_SUFFIX: str = ".liveiso-saved"
# What every command in the chroot gets, besides the clean environment.
CHROOT_ENV: Dict[str, str] = {
    "DEBIAN_FRONTEND": "noninteractive",
    "DEBCONF_NONINTERACTIVE_SEEN": "true",
    "SYSTEMD_OFFLINE": "1",
    "RUNLEVEL": "1",
    "TERM": "dumb",
}


class Chroot(object):
    """Runs commands inside ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root

    def env(self, extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
        """The environment of a command in the chroot: the clean one, :data:`CHROOT_ENV`, then ``extra``."""
        env = clean_env(CHROOT_ENV)
        env.pop("TMPDIR", None)  # a host path, meaningless inside the image
        if extra:
            env.update(extra)
        return env

    def run(self, argv: Sequence[str], env: Optional[Mapping[str, str]] = None, check: bool = True,
            input: Union[str, bytes, None] = None, merge_output: bool = False, timeout: Optional[float] = None,
            what: Optional[str] = None) -> Result:
        """Run ``argv`` inside the root (see :func:`runner.run`); ``env`` is merged over :meth:`env`."""
        return run(["chroot", self.root] + list(argv), env=self.env(env), check=check, input=input,
                   merge_output=merge_output, timeout=timeout, what=what)

    def path(self, image_path: str, follow_final: bool = True) -> str:
        """Host path for ``image_path``, confined to the root."""
        return resolve_in_root(self.root, image_path, follow_final)

    def exists(self, image_path: str) -> bool:
        return os.path.lexists(self.path(image_path))

    def which(self, name: str) -> Optional[str]:
        """The image path of command ``name`` in the image's standard PATH, or None."""
        for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            candidate = self.path(directory + "/" + name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return directory + "/" + name
        return None


@contextlib.contextmanager
def _replaced_file(chroot: Chroot, image_path: str, content: str, mode: int, follow_final: bool = True
                   ) -> Iterator[None]:
    """Put ``content`` at ``image_path`` (a file or symlink inside the image) and restore the original after
    (also when putting it there fails half-way)."""
    host_path = chroot.path(image_path, follow_final=follow_final)
    backup = None
    try:
        with os_errors_as("replace %s in the image for the customization" % image_path, host_path,
                          "The image's root filesystem must be writable there; fix the image."):
            if os.path.lexists(host_path):
                backup = host_path + SAVED_SUFFIX
                os.rename(host_path, backup)
            os.makedirs(os.path.dirname(host_path), exist_ok=True)
            with open(host_path, "w") as handle:
                handle.write(content)
            os.chmod(host_path, mode)
        yield
    finally:
        if os.path.lexists(host_path):
            if os.path.isdir(host_path) and not os.path.islink(host_path):
                shutil.rmtree(host_path)
            else:
                os.unlink(host_path)
        if backup:
            os.rename(backup, host_path)


def host_resolv_conf() -> str:
    """The build host's /etc/resolv.conf (empty when it has none)."""
    try:
        with open("/etc/resolv.conf") as handle:
            return handle.read()
    except OSError:
        return ""


@contextlib.contextmanager
def chroot_environment(root: str) -> Iterator[Chroot]:
    """``with chroot_environment(root) as chroot: chroot.run([...])``: API filesystems mounted for the block."""
    with contextlib.ExitStack() as stack:
        for name, fstype, source, bind in (("dev", None, "/dev", True), ("dev/pts", None, "/dev/pts", True),
                                           ("proc", "proc", "proc", False), ("sys", "sysfs", "sysfs", False),
                                           ("run", "tmpfs", "tmpfs", False)):
            target = resolve_in_root(root, "/" + name)
            try:
                os.makedirs(target, exist_ok=True)
            except OSError as err:
                raise ImageError("cannot create /%s in the image to mount %s on: %s." % (name, source, err.strerror),
                                 "The image's root filesystem lacks /dev, /proc, /sys or /run; add them to the image."
                                 ) from err
            stack.enter_context(mounted(source, target, fstype=fstype, bind=bind,
                                        options=["mode=0755"] if fstype == "tmpfs" else None))
        yield Chroot(root)


@contextlib.contextmanager
def services_held(chroot: Chroot) -> Iterator[None]:
    """No service starts while packages are installed (Debian's policy-rc.d; SYSTEMD_OFFLINE is always set)."""
    with _replaced_file(chroot, "/usr/sbin/policy-rc.d", POLICY_RC_D, 0o755):
        yield


@contextlib.contextmanager
def host_dns(chroot: Chroot) -> Iterator[None]:
    """The host's /etc/resolv.conf inside the image for the block; the image's own (file or link) restored after."""
    with _replaced_file(chroot, "/etc/resolv.conf", host_resolv_conf(), 0o644, follow_final=False):
        yield
