# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recovery ledger (private to this collection): every loop device and mount a build makes is
recorded in its work directory, so that after a ``kill -9`` the next build releases exactly what the dead
one held (see ``_build/workdir.py``).
"""

from __future__ import annotations

_LEDGER = {"path": None}


def set_ledger(path):
    """Record every loop device and mount made from now on in ``path`` (None: stop recording).

    The ledger lives in the build's work directory; after a ``kill -9`` the next build reads it to release
    exactly what the dead build held (see recovery.py).
    """
    _LEDGER["path"] = path


def _record(kind, *values):
    if _LEDGER["path"]:
        with open(_LEDGER["path"], "a") as handle:
            handle.write("\t".join((kind,) + values) + "\n")


def read_ledger(path):
    """[(kind, values...)] from a ledger file (missing file: [])."""
    try:
        with open(path) as handle:
            return [tuple(line.rstrip("\n").split("\t")) for line in handle if line.strip()]
    except OSError:
        return []
