# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import (
    file_identity,
    sha256_file,
    tree_digest,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config

STAMP_SUFFIX: str = ".liveiso.json"


def _jsonable(value: object) -> object:
    """``value`` as JSON data: dataclass instances as mappings of their fields, tuples as lists (other leaves
    as they are: the digest's ``json.dumps`` writes them with ``str``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _fields(value: DataclassInstance) -> Dict[str, object]:
    return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}


def stamp_path(output: str) -> str:
    return output + STAMP_SUFFIX


STAMP_FORMAT: int = 2  # 1: stamps of 0.1.0 before the typed model (no "format" key); read the same way


@dataclasses.dataclass
class FileRecord:
    """One file as a stamp knows it: its sha256 (None when the build skipped the checksum) and identity
    (size, mtime_ns, inode, device); for the output also its size."""

    sha256: Optional[str]
    identity: List[int]
    size: Optional[int] = None


@dataclasses.dataclass
class Stamp:
    """``<output>.liveiso.json``: what made the output (the one typed, versioned model of it).

    ``details`` holds what the pipeline adds (``output_format`` of a disk image, ``live`` of a Live ISO);
    they are stored at the top level of the JSON, as they always were.
    """

    digest: str
    input: FileRecord
    output: FileRecord
    kind: Optional[str] = None
    version: Optional[str] = None
    details: Dict[str, Any] = dataclasses.field(default_factory=dict)
    format: int = STAMP_FORMAT

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = dict(self.details)
        data.update(format=self.format, digest=self.digest, kind=self.kind, version=self.version,
                    input={"sha256": self.input.sha256, "identity": self.input.identity},
                    output={"sha256": self.output.sha256, "size": self.output.size,
                            "identity": self.output.identity})
        return data

    @classmethod
    def from_json(cls, data: Any) -> Optional["Stamp"]:
        """The stamp in ``data``, or None for anything that is not a stamp of a format this version reads
        (a damaged or foreign file is no reason to fail: the output is rebuilt)."""
        if not isinstance(data, dict) or data.get("format", 1) not in (1, STAMP_FORMAT):
            return None
        try:
            records = [data["input"], data["output"]]
            if not all(isinstance(r, dict) and isinstance(r.get("identity"), list) for r in records):
                return None
            details = {k: v for k, v in data.items()
                       if k not in ("format", "digest", "kind", "version", "input", "output")}
            return cls(digest=str(data["digest"]),
                       input=FileRecord(records[0].get("sha256"), list(records[0]["identity"])),
                       output=FileRecord(records[1].get("sha256"), list(records[1]["identity"]),
                                         records[1].get("size")),
                       kind=data.get("kind"), version=data.get("version"), details=details)
        except (KeyError, TypeError, ValueError):
            return None


def read_stamp(output: str) -> Optional[Stamp]:
    """The stamp beside ``output``; None when there is none or it cannot be read."""
    try:
        with open(stamp_path(output)) as handle:
            return Stamp.from_json(json.load(handle))
    except (OSError, ValueError):
        return None


def input_checksum(path: str, previous_stamp: Optional[Stamp]) -> Tuple[str, List[int]]:
    """sha256 of the input image, without reading it when a stamp already knows it.

    Reused from the previous build of the same output, or from the input's own stamp when the input is an
    output of ours (a base ISO for per-site ISOs), in both cases only if it is the same file unchanged
    (size, mtime, inode, device).
    """
    identity = file_identity(path)
    if previous_stamp and previous_stamp.input.identity == identity and previous_stamp.input.sha256:
        return previous_stamp.input.sha256, identity
    own = read_stamp(path)
    if own and own.output.identity == identity and own.output.sha256:
        return own.output.sha256, identity
    return sha256_file(path), identity


def build_digest(kind: str, input_sha256: str, config: Config, options: Mapping[str, Any], version: str) -> str:
    """The identity of a build. ``config`` is the typed Config; secrets enter only as part of a hash."""
    config_data = _fields(config)
    config_data.pop("base_dir", None)
    payload: Dict[str, object] = {
        "kind": kind,
        "input": input_sha256,
        "config": config_data,
        "files": {path: tree_digest(path) for path in config.referenced_files()},
        "options": options,
        "version": version,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def output_is_current(output: str, stamp: Optional[Stamp], digest: str) -> bool:
    """True when ``output`` is what the stamp says and the stamp's digest is ``digest``."""
    if not stamp or stamp.digest != digest or not os.path.isfile(output):
        return False
    return stamp.output.identity[:2] == file_identity(output)[:2]


def write_stamp(output: str, digest: str, input_sha256: str, input_identity: List[int],
                output_sha256: Optional[str], kind: Optional[str] = None, version: Optional[str] = None,
                details: Optional[Dict[str, Any]] = None) -> Stamp:
    stamp = Stamp(digest=digest, input=FileRecord(input_sha256, list(input_identity)),
                  output=FileRecord(output_sha256, file_identity(output), os.path.getsize(output)),
                  kind=kind, version=version, details=dict(details or {}))
    _save_stamp(output, stamp)
    return stamp


def stamp_checksum(output: str, stamp: Stamp, wanted: bool) -> Optional[str]:
    """The sha256 of an up-to-date ``output`` from its stamp; if the build that made it skipped the checksum
    and one is ``wanted`` now, the output is hashed and the stamp completed (the output is not touched)."""
    known = stamp.output.sha256
    if known or not wanted:
        return known
    stamp.output.sha256 = sha256_file(output)
    _save_stamp(output, stamp)
    return stamp.output.sha256


def _save_stamp(output: str, stamp: Stamp) -> None:
    atomic_write(stamp_path(output), json.dumps(stamp.to_json(), indent=2, sort_keys=True) + "\n", 0o644)
