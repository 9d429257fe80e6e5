# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The recovery ledger (private to this collection): every loop device and mount a build makes is
recorded in its work directory, so that after a ``kill -9`` the next build releases exactly what the dead
one held (see ``_build/workdir.py``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum

_LEDGER: Dict[str, Optional[str]] = {"path": None}


class LedgerKind(StrEnum):
    """What a ledger line records: ``loop<TAB>device<TAB>backing file`` or ``mount<TAB>target``."""

    LOOP = "loop"
    MOUNT = "mount"


def set_ledger(path: Optional[str]) -> None:
    """Record every loop device and mount made from now on in ``path`` (None: stop recording).

    The ledger lives in the build's work directory; after a ``kill -9`` the next build reads it to release
    exactly what the dead build held (see ``_build/workdir.py``).
    """
    _LEDGER["path"] = path


def _record(kind: Union[LedgerKind, str], *values: str) -> None:
    path = _LEDGER["path"]
    if path:
        with open(path, "a") as handle:
            handle.write("\t".join((LedgerKind(kind).value,) + values) + "\n")


def read_ledger(path: str) -> List[Tuple[str, ...]]:
    """[(kind, values...)] from a ledger file (missing file: [])."""
    try:
        with open(path) as handle:
            return [tuple(line.rstrip("\n").split("\t")) for line in handle if line.strip()]
    except OSError:
        return []
