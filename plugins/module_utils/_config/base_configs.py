# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``baseConfigs``: hierarchical configs, merged as the reference's ``baseConfig.md`` says (private to this collection).

The chain is depth first, bases before the file naming them, as the
reference's ``buildConfigChain``: a path seen twice (a loop, or one base named
twice) is refused. Each file is checked with its own ``previewFeatures``; the
relative host paths of each file are made absolute against its own directory
before the merge, so the merged mapping parses as one config. Rules: scalars
the last file sets win; list items of the bases come first; kernel command
lines and artifact items are joined; ``os.bootloader.resetType`` takes the
strongest; ``storage`` may be set in one file only.
"""

from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config import preview
from ansible_collections.liveiso.customizer.plugins.module_utils._config.yaml12 import YAMLError, load
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

# Lists of items processed in order, bases first (dotted paths).
_SEQUENTIAL: Tuple[str, ...] = (
    "os.users", "os.groups", "os.services.enable", "os.services.disable", "os.packages.install",
    "os.packages.remove", "os.packages.update", "os.packages.installLists", "os.packages.removeLists",
    "os.packages.updateLists", "os.modules", "os.additionalFiles", "os.additionalDirs", "os.overlays",
    "iso.additionalFiles", "pxe.additionalFiles", "scripts.postCustomization", "scripts.finalizeCustomization",
    "os.kernelCommandLine.extraCommandLine", "iso.kernelCommandLine.extraCommandLine",
    "pxe.kernelCommandLine.extraCommandLine", "output.artifacts.items", "previewFeatures",
)
_RESET_STRENGTH = {"": 0, "hard-reset": 1}


def _parent(data: Dict[str, Any], dotted: str, create: bool) -> Tuple[Optional[Dict[str, Any]], str]:
    keys = dotted.split(".")
    for key in keys[:-1]:
        if not isinstance(data.get(key), dict):
            if not create:
                return None, keys[-1]
            data[key] = {}
        data = data[key]
    return data, keys[-1]


def _absolute(value: Any, base_dir: str) -> Any:
    if isinstance(value, str) and value and not os.path.isabs(value):
        return os.path.normpath(os.path.join(base_dir, value))
    return value


def _file_list(value: Any, base_dir: str) -> Any:
    """additionalFiles, the older map form turned into the list form, sources made absolute."""
    if isinstance(value, dict):
        items: List[Any] = []
        for source, targets in value.items():
            for target in targets if isinstance(targets, list) else [targets]:
                item = {"source": source}
                if isinstance(target, dict):
                    item.update({"destination": target.get("path")}, **({"permissions": target["permissions"]}
                                                                        if "permissions" in target else {}))
                else:
                    item["destination"] = target
                items.append(item)
        value = items
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and "source" in item:
                item["source"] = _absolute(item["source"], base_dir)
    return value


def absolutize(data: Dict[str, Any], base_dir: str) -> Dict[str, Any]:
    """A copy of one file's raw config whose relative host paths are absolute against ``base_dir``."""
    data = copy.deepcopy(data)
    for dotted in ("os.additionalFiles", "iso.additionalFiles", "pxe.additionalFiles"):
        parent, key = _parent(data, dotted, False)
        if parent is not None and key in parent:
            parent[key] = _file_list(parent[key], base_dir)
    for dotted, field in (("os.additionalDirs", "source"), ("scripts.postCustomization", "path"),
                          ("scripts.finalizeCustomization", "path")):
        parent, key = _parent(data, dotted, False)
        for item in (parent or {}).get(key) or []:
            if isinstance(item, dict) and field in item:
                item[field] = _absolute(item[field], base_dir)
    for user in (data.get("os") or {}).get("users") or [] if isinstance(data.get("os"), dict) else []:
        if isinstance(user, dict) and isinstance(user.get("sshPublicKeyPaths"), list):
            user["sshPublicKeyPaths"] = [_absolute(p, base_dir) for p in user["sshPublicKeyPaths"]]
    for dotted in ("os.packages.installLists", "os.packages.removeLists", "os.packages.updateLists"):
        parent, key = _parent(data, dotted, False)
        if parent is not None and isinstance(parent.get(key), list):
            parent[key] = [_absolute(p, base_dir) for p in parent[key]]
    for dotted in ("input.image.path", "output.image.path", "output.artifacts.path", "output.selinuxPolicyPath"):
        parent, key = _parent(data, dotted, False)
        if parent is not None and key in parent:
            parent[key] = _absolute(parent[key], base_dir)
    return data


def _merge_into(merged: Dict[str, Any], data: Dict[str, Any], prefix: str = "") -> None:
    for key, value in data.items():
        dotted = prefix + key
        if dotted == "baseConfigs":
            continue
        if dotted in _SEQUENTIAL and isinstance(value, list):
            merged[key] = list(merged.get(key) or []) + value
        elif dotted == "os.bootloader.resetType":
            old = merged.get(key) or ""
            merged[key] = value if _RESET_STRENGTH.get(value or "", 1) >= _RESET_STRENGTH.get(old, 1) else old
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and dotted not in ("os.selinux", "os.uki"):
            _merge_into(merged[key], value, dotted + ".")
        elif value is not None or key not in merged:
            merged[key] = copy.deepcopy(value)


def _read(path: str, what: str) -> Any:
    try:
        with open(path) as handle:
            return load(handle, what)
    except OSError as err:
        raise ConfigError(what, "failed to load base config (%s): %s" % (path, err.strerror))
    except YAMLError as err:
        raise ConfigError(what, "%s is not valid YAML: %s" % (path, err))


def chain(data: Dict[str, Any], base_dir: Optional[str], path: str = "config") -> List[Dict[str, Any]]:
    """The configs in merge order (bases first), each with absolute host paths; ``data`` last."""
    visited: Dict[str, bool] = {}
    return _chain(data, base_dir, path, visited, [])


def _chain(data: Dict[str, Any], base_dir: Optional[str], path: str, visited: Dict[str, bool],
           stack: List[str]) -> List[Dict[str, Any]]:
    preview.check(data, path)
    result: List[Dict[str, Any]] = []
    bases = data.get("baseConfigs")
    if bases is not None and not isinstance(bases, list):
        raise ConfigError(path + ".baseConfigs", "must be a list")
    for index, base in enumerate(bases or []):
        item_path = "%s.baseConfigs[%d]" % (path, index)
        if not isinstance(base, dict) or set(base) - {"path"}:
            raise ConfigError(item_path, "must be a mapping with the one key path")
        raw = base.get("path")
        if not isinstance(raw, str) or not raw.strip():
            raise ConfigError(item_path + ".path", "path must not be empty or whitespace")
        if not os.path.isabs(raw) and not base_dir:
            raise ConfigError(item_path + ".path", "relative path %r needs a base directory" % raw,
                              "Set config_dir, or use config_file (its directory is the base).")
        full = os.path.normpath(os.path.join(base_dir or "/", raw))
        if visited.get(full):
            raise ConfigError(item_path + ".path", "cycle detected in baseConfigs: %s -> %s"
                              % (" -> ".join(stack) or "(top)", full))
        visited[full] = True
        loaded = _read(full, item_path + ".path")
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError("%s(%s)" % (item_path, full), "must be a mapping")
        result += _chain(loaded, os.path.dirname(full), "%s(%s)" % (item_path, full), visited, stack + [full])
    result.append(absolutize(data, base_dir) if base_dir else copy.deepcopy(data))
    return result


def merge(data: Any, base_dir: Optional[str]) -> Any:
    """``data`` with its ``baseConfigs`` resolved and merged in (``data`` itself when it has none)."""
    if not isinstance(data, dict) or data.get("baseConfigs") is None:
        return data
    configs = chain(data, base_dir)
    with_storage = [c for c in configs if c.get("storage")]
    if len(with_storage) > 1:
        raise ConfigError("config.storage", "storage may only be specified in one config file: storage merging "
                          "logic not yet implemented")
    merged: Dict[str, Any] = {}
    for config in configs:
        _merge_into(merged, config)
    merged.pop("baseConfigs", None)
    return merged
