# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which btrfs subvolume holds an image's OS, the way the filesystem says (private to this collection).

Distributions lay btrfs out differently: Fedora's subvolumes ``root`` and ``home``, Ubuntu's ``@`` and
``@home``, openSUSE's default subvolume ``@/.snapshots/N/snapshot``. No list of names is assumed: with the
top level mounted read-only, the root is the filesystem's default subvolume if that holds an OS, else the
top level itself if it does (no subvolumes in use), else a subvolume that holds ``/etc/os-release`` -
preferably the one its own ``/etc/fstab`` mounts at ``/``. What was looked at is kept for the error message.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, List, Optional

from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run

TOP_LEVEL_ID = 5  # the btrfs top-level subvolume (FS_TREE)
_LIST_RE = re.compile(r"^ID (\d+) gen \d+ (?:cgen \d+ )?top level \d+ (?:otime .+? )?path (.+)$")


@dataclasses.dataclass(frozen=True)
class Subvolume:
    """A subvolume: its ID and its path below the top level ("" for the top level itself)."""

    id: int
    path: str

    @property
    def mount_option(self) -> str:
        """The mount option that mounts this subvolume (explicit even for the top level: a bare mount would
        mount the filesystem's default subvolume)."""
        return "subvolid=%d" % TOP_LEVEL_ID if self.id == TOP_LEVEL_ID else "subvol=/" + self.path

    def describe(self) -> str:
        return "the top level" if self.id == TOP_LEVEL_ID else "subvolume %s" % self.path


TOP_LEVEL = Subvolume(TOP_LEVEL_ID, "")


def parse_list(text: str) -> List[Subvolume]:
    """``btrfs subvolume list`` output -> subvolumes in ID order."""
    found = []
    for line in text.splitlines():
        match = _LIST_RE.match(line.strip())
        if match:
            found.append(Subvolume(int(match.group(1)), match.group(2).strip()))
    return sorted(found, key=lambda subvolume: subvolume.id)


def parse_default(text: str) -> Optional[Subvolume]:
    """``btrfs subvolume get-default`` output -> the default subvolume (None when it is the top level)."""
    line = text.strip()
    if line.startswith("ID %d " % TOP_LEVEL_ID) or line == "ID %d" % TOP_LEVEL_ID:
        return None
    match = _LIST_RE.match(line)
    return Subvolume(int(match.group(1)), match.group(2).strip()) if match else None


def subvolumes(top: str) -> List[Subvolume]:
    """The subvolumes of the btrfs filesystem whose top level is mounted at ``top``."""
    return parse_list(run(["btrfs", "subvolume", "list", top], what="btrfs subvolume list").stdout)


def default_subvolume(top: str) -> Optional[Subvolume]:
    return parse_default(run(["btrfs", "subvolume", "get-default", top], what="btrfs subvolume get-default").stdout)


def fstab_root_subvolume(fstab_text: str) -> Optional[str]:
    """The subvolume (path, or ``id:<n>``) that an fstab mounts at ``/``, if its options name one."""
    for line in fstab_text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0].startswith("#") or fields[1] != "/":
            continue
        for option in fields[3].split(","):
            key, _sep, value = option.partition("=")
            if key == "subvol" and value:
                return value.strip("/")
            if key == "subvolid" and value:
                return "id:%s" % value
    return None


@dataclasses.dataclass
class RootChoice:
    """The subvolume that holds the OS (None: none does) and every place that was looked at."""

    subvolume: Optional[Subvolume]
    looked_at: List[str]


def choose_root(top: str, holds_os: Callable[[str], bool], read_fstab: Callable[[str], str],
                default: Optional[Subvolume], candidates: List[Subvolume]) -> RootChoice:
    """Pick the root among ``default``, the top level and ``candidates`` (see the module docstring).

    ``holds_os(relpath)`` says whether the directory at ``relpath`` below ``top`` holds an OS;
    ``read_fstab(relpath)`` returns its /etc/fstab ("" if none).
    """
    looked_at = []
    if default is not None:
        looked_at.append("the default subvolume %s" % default.path)
        if holds_os(default.path):
            return RootChoice(default, looked_at)
    looked_at.append(TOP_LEVEL.describe())
    if holds_os(""):
        return RootChoice(TOP_LEVEL, looked_at)
    with_os = []
    for subvolume in candidates:
        looked_at.append(subvolume.describe())
        if holds_os(subvolume.path):
            with_os.append(subvolume)
    for subvolume in with_os:
        named = fstab_root_subvolume(read_fstab(subvolume.path))
        if named in (subvolume.path, "id:%d" % subvolume.id):
            return RootChoice(subvolume, looked_at)
    return RootChoice(with_os[0] if with_os else None, looked_at)
