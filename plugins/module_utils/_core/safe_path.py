# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resolve paths inside an image root as if that root were ``/`` (private to this collection).

Images are untrusted: an absolute symlink ``/etc -> /host/etc`` inside the
image must lead to ``<root>/host/etc``, never to the build host, and ``..``
never climbs above the root. Every host path this library writes inside an
image comes from :func:`resolve_in_root`.
"""

from __future__ import annotations

import os
import posixpath
from typing import List

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError, ImageError

MAX_SYMLINKS: int = 40


def resolve_in_root(root: str, path: str, follow_final: bool = True) -> str:
    """Host path of image path ``path`` under ``root``, following symlinks inside the root only."""
    root = os.path.realpath(root)
    if not path.startswith("/"):
        path = "/" + path
    pending = [part for part in path.split("/") if part]
    resolved: List[str] = []  # components below root, all existing non-symlinks (or not yet existing)
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *(resolved + [part]))
        is_last = not pending
        if os.path.islink(candidate) and (follow_final or not is_last):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise ImageError("cannot resolve %s in the image: too many levels of symbolic links." % path,
                                 "The image has a symlink loop there; fix it or choose another destination.")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [p for p in target.split("/") if p] + pending
            continue
        resolved.append(part)
    return os.path.join(root, *resolved) if resolved else root


def image_path(value: object, key_path: str) -> str:
    """Validate an absolute, normalised destination path inside an image; return it normalised."""
    if not isinstance(value, str) or not value:
        raise ConfigError(key_path, "must be a non-empty absolute path")
    if not value.startswith("/"):
        raise ConfigError(key_path, "%r is not an absolute path" % value,
                          "Destinations inside the image start with '/'.")
    if "\x00" in value:
        raise ConfigError(key_path, "contains a NUL byte")
    normal = posixpath.normpath(value)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if ".." in value.split("/"):
        raise ConfigError(key_path, "%r contains '..'" % value, "Use a plain absolute path.")
    return normal
