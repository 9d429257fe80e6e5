# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``os.packages.snapshotTime`` and ``os.packages.removePackageManager`` (private to this collection).

snapshotTime: only packages published before the time are considered. apt has this since 2.7
(``APT::Snapshot``, snapshot.debian.org for Debian's archive: Debian 13 and later), tdnf has
``--snapshottime``; for apt before 2.7, dnf and zypper the build fails with the reason.
removePackageManager: as the reference does on Debian-family images: apt and apt-utils removed (with the
unused dependencies), then /var/lib/apt and /var/cache/apt; dpkg stays. For dnf/tdnf/zypper images: refused.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
from typing import List, Optional, Sequence, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, StepError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.package_managers import PackageManager

APT_SNAPSHOT_SINCE: Tuple[int, int] = (2, 7)
DEB_PACKAGE_MANAGEMENT: Tuple[str, ...] = ("apt", "apt-utils")
DEB_PACKAGE_DIRS: Tuple[str, ...] = ("/var/lib/apt", "/var/cache/apt")
SNAPSHOT_KEY: str = "config.os.packages.snapshotTime"


def _moment(snapshot_time: str) -> datetime.datetime:
    return datetime.datetime.strptime(snapshot_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def version_tuple(version: str) -> Optional[Tuple[int, int]]:
    """(major, minor) of a Debian version string ("2.6.1", "1:3.0.3"), or None."""
    match = re.match(r"^(?:\d+:)?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def snapshot_options(manager: PackageManager, snapshot_time: str, apt_version: Optional[str] = None) -> List[str]:
    """The options that make ``manager``'s commands see the repositories as they were at ``snapshot_time``."""
    if manager.name == "apt":
        version = version_tuple(apt_version or "")
        if version is None or version < APT_SNAPSHOT_SINCE:
            raise StepError("%s: apt %s in the image has no snapshot support (APT::Snapshot needs apt %d.%d or "
                            "later: Debian 13, Ubuntu 24.04)." % (SNAPSHOT_KEY, apt_version or "(unknown)",
                                                                  APT_SNAPSHOT_SINCE[0], APT_SNAPSHOT_SINCE[1]),
                            "Remove snapshotTime, or point the image's sources at snapshot.debian.org/archive/debian/"
                            "<time>/ in a file under os.additionalFiles.")
        return ["-o", "APT::Snapshot=%s" % _moment(snapshot_time).strftime("%Y%m%dT%H%M%SZ")]
    if manager.name == "tdnf":
        return ["--snapshottime=%d" % int(_moment(snapshot_time).timestamp())]
    raise StepError("%s: %s has no package snapshot support." % (SNAPSHOT_KEY, manager.name),
                    "Remove snapshotTime (it works with apt 2.7+ and tdnf images).")


def with_options(argv: Optional[Sequence[str]], options: Sequence[str]) -> Optional[List[str]]:
    """``argv`` with ``options`` right after the command (None stays None)."""
    return None if argv is None else [argv[0]] + list(options) + list(argv[1:])


def installed_version(chroot: Chroot, package: str) -> Optional[str]:
    """The version of ``package`` installed in the image (dpkg), or None."""
    result = chroot.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Version}", package], check=False)
    fields = result.stdout.split()
    return fields[-1] if result.returncode == 0 and fields[:1] == ["ii"] and len(fields) >= 2 else None


def remove_package_manager(chroot: Chroot, manager: PackageManager) -> List[str]:
    """Remove the package manager's tools and files from the image; return what was removed."""
    if manager.name != "apt":
        raise StepError("config.os.packages.removePackageManager: not supported for %s images." % manager.name,
                        "Remove it from the config (it is implemented for apt images).")
    packages = [name for name in DEB_PACKAGE_MANAGEMENT if installed_version(chroot, name)]
    if packages:
        try:
            chroot.run(["apt-get", "-y", "-q", "remove", "--auto-remove", "--allow-remove-essential", "--"] + packages,
                       env={"DEBIAN_FRONTEND": "noninteractive"}, timeout=1800, what="removing %s" % ", ".join(packages))
        except CommandError as err:
            raise StepError("config.os.packages.removePackageManager: removing %s failed (exit %s): %s"
                            % (", ".join(packages), err.returncode, err.output_tail)) from err
    removed = list(packages)
    for image_dir in DEB_PACKAGE_DIRS:
        host = chroot.path(image_dir, follow_final=False)
        if os.path.isdir(host) and not os.path.islink(host):
            shutil.rmtree(host)
            removed.append(image_dir)
    return removed
