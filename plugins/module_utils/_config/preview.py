# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``previewFeatures``: the reference's list, and the keys it gates behind one (private to this collection).

Each config file is checked with its own ``previewFeatures``, as the reference
validates each file of a ``baseConfigs`` chain on its own.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as m
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

FEATURES: Tuple[str, ...] = (
    "uki", "output-artifacts", "inject-files", "reinitialize-verity", "package-snapshot-time", "kdump-boot-files",
    "preview-distro-version", "base-configs", "input-image-oci", "output-selinux-policy", "btrfs", "create",
    "unsupported-distro-version", "tools-dir", "remove-package-manager",
)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _filled(value: Any) -> bool:
    return value not in (None, "")


def _items(data: Any, *keys: str) -> List[Any]:
    value = _get(data, *keys)
    return value if isinstance(value, list) else []


# (key as the reference names it in its message, the feature, is the key used in this raw config?)
GATES: Tuple[Tuple[str, str, Callable[[Dict[str, Any]], bool]], ...] = (
    ("iso.kdumpBootFiles", "kdump-boot-files", lambda c: _get(c, "iso", "kdumpBootFiles") is not None),
    ("pxe.kdumpBootFiles", "kdump-boot-files", lambda c: _get(c, "pxe", "kdumpBootFiles") is not None),
    ("os.uki", "uki", lambda c: isinstance(c.get("os"), dict) and "uki" in c["os"]),
    ("os.packages.snapshotTime", "package-snapshot-time", lambda c: _filled(_get(c, "os", "packages", "snapshotTime"))),
    ("os.packages.removePackageManager", "remove-package-manager",
     lambda c: _get(c, "os", "packages", "removePackageManager") is not None),
    ("output.artifacts", "output-artifacts", lambda c: _get(c, "output", "artifacts") is not None),
    ("output.selinuxPolicyPath", "output-selinux-policy", lambda c: _filled(_get(c, "output", "selinuxPolicyPath"))),
    ("verity.hashSignaturePath", "output-artifacts",
     lambda c: any(_filled(_get(v, "hashSignaturePath")) for v in _items(c, "storage", "verity"))),
    ("storage.reinitializeVerity", "reinitialize-verity", lambda c: _filled(_get(c, "storage", "reinitializeVerity"))),
    ("baseConfigs", "base-configs", lambda c: c.get("baseConfigs") is not None),
    ("input.image.oci", "input-image-oci", lambda c: _get(c, "input", "image", "oci") is not None),
    ("btrfs filesystems", "btrfs", lambda c: any(_get(f, "type") == "btrfs" for f in _items(c, "storage", "filesystems"))),
)


def features(data: Dict[str, Any], path: str = "config") -> Tuple[str, ...]:
    """The file's ``previewFeatures``, each one of the reference's."""
    names = m._str_list(data.get("previewFeatures"), path + ".previewFeatures")
    for index, name in enumerate(names):
        if name not in FEATURES:
            raise ConfigError("%s.previewFeatures[%d]" % (path, index), "invalid preview feature: %s" % name,
                              "One of: %s." % ", ".join(FEATURES))
    return names


def check(data: Any, path: str = "config") -> Tuple[str, ...]:
    """Refuse a key the reference gates behind a preview feature the file does not enable; return the features."""
    if not isinstance(data, dict):
        return ()
    enabled = features(data, path)
    for key, feature, used in GATES:
        if used(data) and feature not in enabled:
            raise ConfigError("%s.previewFeatures" % path, "the '%s' preview feature must be enabled to use '%s'"
                              % (feature, key), "Add '%s' to previewFeatures." % feature)
    return enabled
