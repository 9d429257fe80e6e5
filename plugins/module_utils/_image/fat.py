# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FAT filesystems without a vfat kernel driver, through mtools (private to this collection).

Hosts and containers whose kernel cannot mount vfat still need to see and
change an image's EFI system partition. :func:`fat_as_directory` copies the
filesystem out into a directory, and on a successful exit writes back exactly
what changed (new and modified files and directories, deletions).
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run

MTOOLS_ENV = {"MTOOLS_SKIP_CHECK": "1", "MTOOLS_NO_VFAT": "0"}


def _image_spec(image, offset):
    return "%s@@%d" % (image, offset) if offset else image


def _mtools(argv, **kwargs):
    return run(argv, env=clean_env(MTOOLS_ENV), **kwargs)


def snapshot(directory):
    """{relative path: (kind, size, mtime_ns)} for everything below ``directory``."""
    state = {}
    for base, dirs, files in os.walk(directory):
        rel_base = os.path.relpath(base, directory)
        for name in dirs:
            rel = os.path.normpath(os.path.join(rel_base, name))
            state[rel] = ("dir", 0, 0)
        for name in files:
            path = os.path.join(base, name)
            stat = os.lstat(path)
            rel = os.path.normpath(os.path.join(rel_base, name))
            state[rel] = ("file", stat.st_size, stat.st_mtime_ns)
    return state


def plan_writeback(before, after):
    """The mtools operations that turn the FAT image from ``before`` into ``after``.

    Returns (removals, new_dirs, files): removals deepest first as (kind, path),
    new directories shallowest first, files to copy (new or changed). A path
    whose kind changed (file <-> directory) is removed and created anew.
    """
    changed_kind = {rel for rel in set(before) & set(after) if before[rel][0] != after[rel][0]}
    gone = (set(before) - set(after)) | changed_kind

    def inside_removed_dir(rel):
        parent = os.path.dirname(rel)
        while parent:
            if parent in gone and before[parent][0] == "dir":
                return True
            parent = os.path.dirname(parent)
        return False

    removals = [(before[rel][0], rel) for rel in sorted(gone, key=lambda p: (-p.count("/"), p))
                if not inside_removed_dir(rel)]
    new_dirs = sorted((rel for rel in after if after[rel][0] == "dir" and (rel not in before or rel in changed_kind)),
                      key=lambda p: (p.count("/"), p))
    files = sorted(rel for rel in after if after[rel][0] == "file"
                   and (after[rel] != before.get(rel) or rel in changed_kind))
    return removals, new_dirs, files


def extract(image, offset, directory):
    os.makedirs(directory, exist_ok=True)
    listing = _mtools(["mdir", "-b", "-i", _image_spec(image, offset), "::/"], check=False)
    if listing.stdout.strip():
        _mtools(["mcopy", "-s", "-p", "-n", "-m", "-i", _image_spec(image, offset), "::/", directory + "/"],
                what="copying the FAT filesystem out with mtools")


def write_back(image, offset, directory, before):
    removals, new_dirs, files = plan_writeback(before, snapshot(directory))
    spec = _image_spec(image, offset)
    for kind, rel in removals:
        _mtools(["mdeltree" if kind == "dir" else "mdel", "-i", spec, "::/" + rel],
                what="removing %s from the FAT filesystem" % rel)
    for rel in new_dirs:
        _mtools(["mmd", "-i", spec, "::/" + rel], what="creating %s on the FAT filesystem" % rel)
    for rel in files:
        _mtools(["mcopy", "-o", "-p", "-m", "-i", spec, os.path.join(directory, rel), "::/" + rel],
                what="writing %s to the FAT filesystem" % rel)
    return len(removals) + len(new_dirs) + len(files)


@contextlib.contextmanager
def fat_as_directory(image, offset, directory):
    """The FAT filesystem at ``offset`` of ``image`` as ``directory``; changes written back on success."""
    extract(image, offset, directory)
    before = snapshot(directory)
    yield directory
    write_back(image, offset, directory, before)
