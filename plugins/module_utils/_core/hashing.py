# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input digests and build stamps: the idempotency of every build (private to this collection).

A build's identity is a SHA-256 over everything that determines its output:
the input image's content, the typed config, the content of every file the
config references, the output options and the collection version. The stamp,
``<output>.liveiso.json`` beside the output, records that digest together with
the output's size, mtime and checksum; a rerun whose digest matches and whose
output is untouched is skipped. Hashing a multi-GB input is the slow part, so
the stamp also caches the input's checksum by (size, mtime, inode).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile

CHUNK = 4 << 20
STAMP_SUFFIX = ".liveiso.json"


def hash_range(digest, path, start=0, end=None):
    """Feed ``path``'s bytes [start, end) into ``digest`` (a hashlib object); past the file's end, zeros (as
    a hole reads). Read, not mapped: a file that shrinks under us ends early instead of raising SIGBUS."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        end = size if end is None else end
        position = start
        handle.seek(start)
        while position < min(end, size):
            count = handle.readinto(view[:min(CHUNK, min(end, size) - position)])
            if not count:
                raise OSError("%s ended early, at byte %d" % (path, position))
            digest.update(view[:count])
            position += count
    while position < end:
        count = min(CHUNK, end - position)
        digest.update(bytes(count))
        position += count
    return digest


def sha256_file(path):
    """sha256 of ``path`` (hex)."""
    return hash_range(hashlib.sha256(), path).hexdigest()


def file_identity(path):
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def tree_digest(path):
    """Digest of a file, or of a directory tree (names, modes, link targets, contents)."""
    if os.path.isfile(path):
        return sha256_file(path)
    digest = hashlib.sha256()
    for base, dirs, files in os.walk(path):
        dirs.sort()
        rel_base = os.path.relpath(base, path)
        digest.update(("dir\0%s\0%o\0" % (rel_base, os.lstat(base).st_mode)).encode())
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, path)
            st = os.lstat(full)
            digest.update(("%s\0%o\0" % (rel, st.st_mode)).encode())
            digest.update((os.readlink(full) if os.path.islink(full) else sha256_file(full)).encode())
    return digest.hexdigest()


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
    directory = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(prefix=".liveiso-stamp-", dir=directory)
    with os.fdopen(fd, "w") as handle:
        json.dump(stamp, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, stamp_path(output))
    return stamp
