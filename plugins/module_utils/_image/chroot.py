# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
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

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import resolve_in_root
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import mounted

POLICY_RC_D = "#!/bin/sh\n# Written by liveiso.customizer during customization: start no services.\nexit 101\n"


class Chroot(object):
    """Runs commands inside ``root``."""

    def __init__(self, root):
        self.root = root

    def env(self, extra=None):
        env = clean_env({
            "DEBIAN_FRONTEND": "noninteractive",
            "DEBCONF_NONINTERACTIVE_SEEN": "true",
            "SYSTEMD_OFFLINE": "1",
            "RUNLEVEL": "1",
            "TERM": "dumb",
        })
        env.pop("TMPDIR", None)  # a host path, meaningless inside the image
        if extra:
            env.update(extra)
        return env

    def run(self, argv, env=None, **kwargs):
        return run(["chroot", self.root] + list(argv), env=self.env(env), **kwargs)

    def path(self, image_path, follow_final=True):
        """Host path for ``image_path``, confined to the root."""
        return resolve_in_root(self.root, image_path, follow_final)

    def exists(self, image_path):
        return os.path.lexists(self.path(image_path))

    def which(self, name):
        for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
            candidate = self.path(directory + "/" + name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return directory + "/" + name
        return None


@contextlib.contextmanager
def _replaced_file(host_path, content, mode):
    """Put ``content`` at ``host_path`` (a file or symlink inside the image) and restore the original after."""
    backup = None
    if os.path.lexists(host_path):
        backup = host_path + ".liveiso-saved"
        os.rename(host_path, backup)
    parent = os.path.dirname(host_path)
    os.makedirs(parent, exist_ok=True)
    with open(host_path, "w") as handle:
        handle.write(content)
    os.chmod(host_path, mode)
    try:
        yield
    finally:
        if os.path.lexists(host_path) or os.path.isdir(host_path):
            if os.path.isdir(host_path) and not os.path.islink(host_path):
                shutil.rmtree(host_path)
            else:
                os.unlink(host_path)
        if backup:
            os.rename(backup, host_path)


def host_resolv_conf():
    try:
        with open("/etc/resolv.conf") as handle:
            return handle.read()
    except OSError:
        return ""


@contextlib.contextmanager
def chroot_environment(root):
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
                                 "The image's root filesystem lacks /dev, /proc, /sys or /run; add them to the image.")
            stack.enter_context(mounted(source, target, fstype=fstype, bind=bind,
                                        options=["mode=0755"] if fstype == "tmpfs" else None))
        yield Chroot(root)


@contextlib.contextmanager
def services_held(chroot):
    """No service starts while packages are installed (Debian's policy-rc.d; SYSTEMD_OFFLINE is always set)."""
    with _replaced_file(chroot.path("/usr/sbin/policy-rc.d"), POLICY_RC_D, 0o755):
        yield


@contextlib.contextmanager
def host_dns(chroot):
    """The host's /etc/resolv.conf inside the image for the block; the image's own (file or link) restored after."""
    with _replaced_file(chroot.path("/etc/resolv.conf", follow_final=False), host_resolv_conf(), 0o644):
        yield
