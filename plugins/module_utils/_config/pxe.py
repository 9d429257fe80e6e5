# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``pxe`` section (private to this collection): the network-boot tree's settings, validated as the reference does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as m
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

URL_PROTOCOLS: Tuple[str, ...] = ("ftp://", "http://", "https://", "nfs://", "tftp://")
KDUMP_BOOT_FILES: Tuple[str, ...] = ("none", "keep")


@dataclass(frozen=True)
class PxeConfig:
    initramfs_type: m.InitramfsType = m.InitramfsType.BOOTSTRAP
    bootstrap_base_url: Optional[str] = None
    bootstrap_file_url: Optional[str] = None
    kernel_extra_args: Tuple[str, ...] = ()
    additional_files: Tuple[m.FileSpec, ...] = ()
    kdump_boot_files: Optional[str] = None


def kdump_boot_files(section: Any, path: str) -> Optional[str]:
    """``iso.kdumpBootFiles`` / ``pxe.kdumpBootFiles``: none or keep."""
    if "kdumpBootFiles" not in section:
        return None
    value = m._str(section["kdumpBootFiles"], path + ".kdumpBootFiles", allow_empty=True)
    if value not in KDUMP_BOOT_FILES:
        raise ConfigError(path + ".kdumpBootFiles", "invalid kdumpBootFilesType value (%s)" % value,
                          "One of: none, keep.")
    return value


def _url(section: Any, key: str, path: str) -> Optional[str]:
    value = m._str(section[key], "%s.%s" % (path, key), allow_empty=True) if key in section else ""
    if not value:
        return None  # the reference treats an empty string as unset
    if not value.startswith(URL_PROTOCOLS):
        raise ConfigError("%s.%s" % (path, key), "unsupported URL protocol in (%s)" % value,
                          "One of %s is expected." % ", ".join(URL_PROTOCOLS))
    return value


def parse_pxe(value: Any, paths: Any, path: str = "config.pxe") -> PxeConfig:
    section = m._mapping(value, path, {"kernelCommandLine", "additionalFiles", "initramfsType", "bootstrapBaseUrl",
                                       "bootstrapFileUrl", "kdumpBootFiles"})
    initramfs = m.InitramfsType.BOOTSTRAP
    if section.get("initramfsType") not in (None, ""):
        initramfs = m._choice(section["initramfsType"], path + ".initramfsType", m.InitramfsType)
    base_url, file_url = _url(section, "bootstrapBaseUrl", path), _url(section, "bootstrapFileUrl", path)
    if initramfs is m.InitramfsType.FULL_OS and (base_url or file_url):
        raise ConfigError(path, "cannot specify either 'bootstrapBaseUrl' or 'bootstrapFileUrl' when the initramfs "
                          "type is set to 'full-os'")
    if base_url and file_url:
        raise ConfigError(path, "cannot specify both 'bootstrapBaseUrl' and 'bootstrapFileUrl' at the same time")
    return PxeConfig(
        initramfs_type=initramfs,
        bootstrap_base_url=base_url,
        bootstrap_file_url=file_url,
        kernel_extra_args=m._kernel_args(section.get("kernelCommandLine"), path + ".kernelCommandLine"),
        additional_files=m._file_specs(section.get("additionalFiles"), path + ".additionalFiles", paths),
        kdump_boot_files=kdump_boot_files(section, path),
    )
