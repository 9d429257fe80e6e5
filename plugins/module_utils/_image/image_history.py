# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``os.imageHistory``: the history file the reference keeps in an image it customized (private to this collection).

``/usr/share/image-customizer/history.json`` is a JSON list with one entry per customization, oldest first:
``timestamp`` (RFC 3339, UTC), ``toolVersion``, ``imageUuid`` and ``config``. The reference's entries carry its
config with secrets redacted; ours carry the typed config (the same keys, validated), passwords redacted, host
paths relative to the config directory. With ``source_date_epoch`` the entry is reproducible: the time is the
epoch and the id derived from the entry. ``imageHistory: none`` writes nothing (an existing file is kept).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import StepError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot

if TYPE_CHECKING:
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config

HISTORY_DIR: str = "/usr/share/image-customizer"
HISTORY_FILE: str = HISTORY_DIR + "/history.json"
REDACTED: str = "[redacted]"
TOOL: str = "liveiso.customizer"


def _redacted(value: Any, base_dir: Optional[str]) -> Any:
    """The config's plain data: password values redacted, host paths made relative to the config directory."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "value" and "type" in value:  # a Password
                out[key] = REDACTED if item is not None else None
            else:
                out[key] = _redacted(item, base_dir)
        return out
    if isinstance(value, (list, tuple)):
        return [_redacted(item, base_dir) for item in value]
    if isinstance(value, str) and base_dir and value.startswith(base_dir.rstrip("/") + "/"):
        return os.path.relpath(value, base_dir)
    return value


def history_entry(config: Config, epoch: Optional[int] = None) -> Dict[str, Any]:
    """This customization's entry."""
    data = _redacted(dataclasses.asdict(config), config.base_dir)
    data.pop("base_dir", None)
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch is not None \
        else datetime.datetime.now(datetime.timezone.utc)
    entry: Dict[str, Any] = {"timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "toolVersion": "%s %s" % (TOOL, COLLECTION_VERSION), "imageUuid": "", "config": data}
    if epoch is not None:
        entry["imageUuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(entry, sort_keys=True, default=str)))
    else:
        entry["imageUuid"] = str(uuid.uuid4())
    return entry


def write_history(chroot: Chroot, config: Config, epoch: Optional[int] = None) -> str:
    """Append this customization's entry to the image's history file; return a note."""
    host = chroot.path(HISTORY_FILE)
    entries: List[Any] = []
    if os.path.lexists(host):
        try:
            with open(host) as handle:
                entries = json.load(handle)
        except (OSError, ValueError) as err:
            raise StepError("failed to read image history file %s: %s." % (HISTORY_FILE, err),
                            "Fix or remove it in the image, or set os.imageHistory: none.") from err
        if not isinstance(entries, list):
            raise StepError("failed to read image history file %s: not a JSON list." % HISTORY_FILE,
                            "Fix or remove it in the image, or set os.imageHistory: none.")
    entries.append(history_entry(config, epoch))
    with os_errors_as("write %s in the image" % HISTORY_FILE, host):
        os.makedirs(os.path.dirname(host), mode=0o755, exist_ok=True)
        atomic_write(host, json.dumps(entries, indent=1, default=str) + "\n", 0o644, fsync=False)
    return "image history: entry %d in %s" % (len(entries), HISTORY_FILE)
