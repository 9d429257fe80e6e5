# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""FAT filesystems without a vfat kernel driver, through mtools (private to this collection).

Hosts and containers whose kernel cannot mount vfat still need to see and
change an image's EFI system partition. :func:`fat_as_directory` copies the
filesystem out into a directory, and on a successful exit writes back exactly
what changed (new and modified files and directories, deletions).
"""

from __future__ import annotations

import contextlib
import os
from typing import Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result, run
from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import kernel_filesystems

MTOOLS_ENV: Dict[str, str] = {"MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}
FAT_MODE_VARIABLE: str = "LIVEISO_FAT_MODE"


class FatMode(StrEnum):
    """How an image's FAT filesystem (its ESP) is reached: mounted by the kernel, or copied with mtools."""

    NATIVE = "native"
    MTOOLS = "mtools"

    @property
    def mounts(self) -> bool:
        """Does the kernel mount the filesystem (rather than mtools copying it out and back)?"""
        return self is FatMode.NATIVE


def fat_mode() -> FatMode:
    """NATIVE when this kernel mounts vfat, else MTOOLS; LIVEISO_FAT_MODE (native or mtools) forces either."""
    forced = os.environ.get(FAT_MODE_VARIABLE, "auto")
    if forced in tuple(FatMode):
        return FatMode(forced)
    return FatMode.NATIVE if "vfat" in kernel_filesystems() else FatMode.MTOOLS


class EntryKind(StrEnum):
    """What a path in a FAT filesystem is."""

    DIR = "dir"
    FILE = "file"

    @property
    def mtools_remove(self) -> str:
        """The mtools command that removes a path of this kind."""
        return "mdeltree" if self is EntryKind.DIR else "mdel"


class FileState(NamedTuple):
    """A path's state in a :func:`snapshot`: directories are ``(DIR, 0, 0)``."""

    kind: EntryKind
    size: int
    mtime_ns: int


class WritebackPlan(NamedTuple):
    """The mtools operations of a write-back (see :func:`plan_writeback`)."""

    removals: List[Tuple[EntryKind, str]]  # deepest first
    new_dirs: List[str]                    # shallowest first
    files: List[str]                       # new or changed


def _image_spec(image: str, offset: int) -> str:
    return "%s@@%d" % (image, offset) if offset else image


def _mtools(argv: List[str], check: bool = True, what: Optional[str] = None) -> Result:
    return run(argv, check=check, what=what, extra_env=MTOOLS_ENV)


def snapshot(directory: str) -> Dict[str, FileState]:
    """{relative path: (kind, size, mtime_ns)} for everything below ``directory``."""
    state: Dict[str, FileState] = {}
    for base, dirs, files in os.walk(directory):
        rel_base = os.path.relpath(base, directory)
        for name in dirs:
            rel = os.path.normpath(os.path.join(rel_base, name))
            state[rel] = FileState(EntryKind.DIR, 0, 0)
        for name in files:
            path = os.path.join(base, name)
            stat = os.lstat(path)
            rel = os.path.normpath(os.path.join(rel_base, name))
            state[rel] = FileState(EntryKind.FILE, stat.st_size, stat.st_mtime_ns)
    return state


def plan_writeback(before: Mapping[str, FileState], after: Mapping[str, FileState]) -> WritebackPlan:
    """The mtools operations that turn the FAT image from ``before`` into ``after``.

    Returns (removals, new_dirs, files): removals deepest first as (kind, path),
    new directories shallowest first, files to copy (new or changed). A path
    whose kind changed (file <-> directory) is removed and created anew.
    """
    changed_kind = {rel for rel in set(before) & set(after) if before[rel][0] != after[rel][0]}
    gone = (set(before) - set(after)) | changed_kind

    def inside_removed_dir(rel: str) -> bool:
        parent = os.path.dirname(rel)
        while parent:
            if parent in gone and before[parent][0] == EntryKind.DIR:
                return True
            parent = os.path.dirname(parent)
        return False

    removals = [(EntryKind(before[rel][0]), rel) for rel in sorted(gone, key=lambda p: (-p.count("/"), p))
                if not inside_removed_dir(rel)]
    new_dirs = sorted((rel for rel in after
                       if after[rel][0] == EntryKind.DIR and (rel not in before or rel in changed_kind)),
                      key=lambda p: (p.count("/"), p))
    files = sorted(rel for rel in after if after[rel][0] == EntryKind.FILE
                   and (after[rel] != before.get(rel) or rel in changed_kind))
    return WritebackPlan(removals, new_dirs, files)


def extract(image: str, offset: int, directory: str) -> None:
    """Copy the FAT filesystem at ``offset`` of ``image`` into ``directory`` (created if missing)."""
    with os_errors_as("create the directory for the FAT filesystem's files", directory):
        os.makedirs(directory, exist_ok=True)
    listing = _mtools(["mdir", "-b", "-i", _image_spec(image, offset), "::/"], check=False)
    if listing.stdout.strip():
        _mtools(["mcopy", "-s", "-p", "-n", "-m", "-i", _image_spec(image, offset), "::/", directory + "/"],
                what="copying the FAT filesystem out with mtools")


def write_back(image: str, offset: int, directory: str, before: Mapping[str, FileState]) -> int:
    """Write what changed in ``directory`` since ``before`` back to the FAT filesystem; the operation count."""
    removals, new_dirs, files = plan_writeback(before, snapshot(directory))
    spec = _image_spec(image, offset)
    for kind, rel in removals:
        _mtools([kind.mtools_remove, "-i", spec, "::/" + rel], what="removing %s from the FAT filesystem" % rel)
    for rel in new_dirs:
        _mtools(["mmd", "-i", spec, "::/" + rel], what="creating %s on the FAT filesystem" % rel)
    for rel in files:
        _mtools(["mcopy", "-o", "-p", "-m", "-i", spec, os.path.join(directory, rel), "::/" + rel],
                what="writing %s to the FAT filesystem" % rel)
    return len(removals) + len(new_dirs) + len(files)


@contextlib.contextmanager
def fat_as_directory(image: str, offset: int, directory: str) -> Iterator[str]:
    """The FAT filesystem at ``offset`` of ``image`` as ``directory``; changes written back on success."""
    extract(image, offset, directory)
    before = snapshot(directory)
    yield directory
    write_back(image, offset, directory, before)


@contextlib.contextmanager
def fat_extracted(image: str, offset: int, directory: str) -> Iterator[str]:
    """The FAT filesystem at ``offset`` of ``image`` copied to ``directory``; changes are not written back."""
    extract(image, offset, directory)
    yield directory
