# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``input`` and ``output`` sections (private to this collection).

They map onto the module options: ``input.image.path`` -> ``image``,
``output.image.path`` -> ``output``, ``output.image.format`` ->
``output_format``; a module option given as well wins, as the reference's CLI
flags do (:func:`effective`). Relative paths resolve against the config's
directory. Inputs that need a registry or a Microsoft download are refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as m
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

OUTPUT_FORMATS: Tuple[str, ...] = ("vhd", "vhd-fixed", "vhdx", "qcow2", "raw", "iso", "pxe-dir", "pxe-tar", "cosi",
                                   "baremetal-image")
ARTIFACT_ITEMS: Tuple[str, ...] = ("ukis", "shim", "bootloader", "verity-hash")


@dataclass(frozen=True)
class OutputArtifacts:
    items: Tuple[str, ...]
    path: str


@dataclass(frozen=True)
class IoConfig:
    input_image: Optional[str] = None
    output_image: Optional[str] = None
    output_format: Optional[str] = None
    cosi_compression_level: Optional[int] = None
    artifacts: Optional[OutputArtifacts] = None
    selinux_policy_path: Optional[str] = None


def _local(value: Optional[str], base_dir: Optional[str]) -> Optional[str]:
    if not value:
        return None  # the reference treats an empty string as unset
    if not os.path.isabs(value) and base_dir:
        value = os.path.join(base_dir, value)
    return os.path.normpath(value)


def parse_input(value: Any, base_dir: Optional[str], path: str = "config.input") -> Optional[str]:
    section = m._mapping(value, path, {"image"})
    image = m._mapping(section.get("image"), path + ".image", {"path", "oci", "azureLinux"})
    given = [key for key in ("path", "oci", "azureLinux") if image.get(key) not in (None, "")]
    if len(given) > 1:
        raise ConfigError(path + ".image", "must only specify one of 'path', 'oci', and 'azureLinux'")
    if "oci" in given:
        m._mapping(image["oci"], path + ".image.oci", {"uri", "platform"})
        raise ConfigError(path + ".image.oci", "is not supported yet by liveiso.customizer: it needs an OCI registry",
                          "Download the image (oras pull) and give input.image.path or the image option.")
    if "azureLinux" in given:
        m._mapping(image["azureLinux"], path + ".image.azureLinux", {"version", "variant"})
        raise ConfigError(path + ".image.azureLinux", "is not supported yet by liveiso.customizer: it needs a "
                          "Microsoft download of an Azure Linux image", "Give a local image: input.image.path or image.")
    raw = m._str(image["path"], path + ".image.path", allow_empty=True) if "path" in image else ""
    return _local(raw, base_dir)


def parse_output(value: Any, base_dir: Optional[str], path: str = "config.output") -> IoConfig:
    section = m._mapping(value, path, {"image", "artifacts", "selinuxPolicyPath"})
    image = m._mapping(section.get("image"), path + ".image", {"path", "format", "cosi"})
    fmt = m._str(image["format"], path + ".image.format", allow_empty=True) if "format" in image else ""
    if fmt and fmt not in OUTPUT_FORMATS:
        raise ConfigError(path + ".image.format", "invalid image format type (%s)" % fmt,
                          "One of: %s." % ", ".join(OUTPUT_FORMATS))
    cosi = m._mapping(image.get("cosi"), path + ".image.cosi", {"compression"})
    compression = m._mapping(cosi.get("compression"), path + ".image.cosi.compression", {"level"})
    level = m._int(compression["level"], path + ".image.cosi.compression.level", 1, 22) if "level" in compression else None
    artifacts = None
    if section.get("artifacts") is not None:
        art_path = path + ".artifacts"
        art = m._mapping(section["artifacts"], art_path, {"items", "path"})
        items = m._str_list(art.get("items"), art_path + ".items")
        target = m._str(art["path"], art_path + ".path", allow_empty=True) if "path" in art else ""
        if not items or not target:
            raise ConfigError(art_path, "'items' and 'path' must both be specified and non-empty")
        for index, item in enumerate(items):
            if item == "uki-addons":
                raise ConfigError("%s.items[%d]" % (art_path, index), "invalid item value (uki-addons); uki-addons "
                                  "are automatically included with ukis")
            if item not in ARTIFACT_ITEMS:
                raise ConfigError("%s.items[%d]" % (art_path, index), "invalid item value (%s)" % item,
                                  "One of: %s." % ", ".join(ARTIFACT_ITEMS))
        artifacts = OutputArtifacts(items, _local(target, base_dir) or target)
    policy = m._str(section["selinuxPolicyPath"], path + ".selinuxPolicyPath", allow_empty=True) \
        if "selinuxPolicyPath" in section else ""
    return IoConfig(
        output_image=_local(m._str(image["path"], path + ".image.path", allow_empty=True) if "path" in image else "",
                            base_dir),
        output_format=fmt or None, cosi_compression_level=level, artifacts=artifacts,
        selinux_policy_path=_local(policy, base_dir))


def effective(option: Optional[str], from_config: Optional[str], what: str) -> str:
    """The module option if given, else the config's value; neither is an error naming both."""
    value = option or from_config
    if not value:
        raise ConfigError(what, "is required: give the %s option or set it in the configuration" % what,
                          {"image": "Set image, or input.image.path in the config.",
                           "output": "Set output, or output.image.path in the config."}.get(what))
    return value
