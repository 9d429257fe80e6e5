# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build stamps: the idempotency of every build (private to this collection).

A build's identity is a SHA-256 over everything that determines its output: the input image's content,
the typed config, the content of every file the config references, the output options and the collection
version. The stamp, ``<output>.liveiso.json`` beside the output, records that digest together with the
output's size, mtime and checksum; a rerun whose digest matches and whose output is untouched is skipped.
Hashing a multi-GB input is the slow part, so the stamp also caches the input's checksum by (size, mtime,
inode).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import file_identity, sha256_file, tree_digest


STAMP_SUFFIX = ".liveiso.json"


def _jsonable(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def stamp_path(output):
    return output + STAMP_SUFFIX


def read_stamp(output):
    try:
        with open(stamp_path(output)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def input_checksum(path, previous_stamp):
    """sha256 of the input image, without reading it when a stamp already knows it.

    Reused from the previous build of the same output, or from the input's own stamp when the input is an
    output of ours (a base ISO for per-site ISOs), in both cases only if it is the same file unchanged
    (size, mtime, inode, device).
    """
    identity = file_identity(path)
    if previous_stamp and previous_stamp.get("input", {}).get("identity") == identity:
        return previous_stamp["input"]["sha256"], identity
    own = read_stamp(path)
    if own and own.get("output", {}).get("identity") == identity and own["output"].get("sha256"):
        return own["output"]["sha256"], identity
    return sha256_file(path), identity


def build_digest(kind, input_sha256, config, options, version):
    """The identity of a build. ``config`` is the typed Config; secrets enter only as part of a hash."""
    payload = {
        "kind": kind,
        "input": input_sha256,
        "config": _jsonable(config),
        "files": {path: tree_digest(path) for path in config.referenced_files()},
        "options": options,
        "version": version,
    }
    payload["config"].pop("base_dir", None)
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def output_is_current(output, stamp, digest):
    """True when ``output`` is what the stamp says and the stamp's digest is ``digest``."""
    if not stamp or stamp.get("digest") != digest or not os.path.isfile(output):
        return False
    return stamp.get("output", {}).get("identity", [None])[:2] == file_identity(output)[:2]


def write_stamp(output, digest, input_sha256, input_identity, output_sha256, extra=None):
    stamp = {
        "digest": digest,
        "input": {"sha256": input_sha256, "identity": input_identity},
        "output": {"sha256": output_sha256, "size": os.path.getsize(output), "identity": file_identity(output)},
    }
    stamp.update(extra or {})
    return _save_stamp(output, stamp)


def stamp_checksum(output, stamp, wanted):
    """The sha256 of an up-to-date ``output`` from its stamp; if the build that made it skipped the checksum
    and one is ``wanted`` now, the output is hashed and the stamp completed (the output is not touched)."""
    known = stamp["output"].get("sha256")
    if known or not wanted:
        return known
    stamp["output"]["sha256"] = sha256_file(output)
    _save_stamp(output, stamp)
    return stamp["output"]["sha256"]


def _save_stamp(output, stamp):
    atomic_write(stamp_path(output), json.dumps(stamp, indent=2, sort_keys=True) + "\n", 0o644)
    return stamp
