# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The saved config a Live ISO of ours carries at ``/liveiso/config.json`` (private to this collection).

One typed, versioned model, read in one place (:meth:`SavedConfig.from_json`) and written in one place
(:meth:`SavedConfig.to_json`): what a later re-customization of the ISO keeps (boot id, kernel version and
arguments, media files, boot modes, Secure Boot, compression). An ISO whose file is not of a format this
version reads is refused with what to do, never half-understood.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Type, TypeVar

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError

SAVED_CONFIG_FORMAT: int = 1

T = TypeVar("T")


def _strings(data: Dict[str, Any], key: str) -> List[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("%s must be a list of strings" % key)
    return list(value)


def _optional(data: Dict[str, Any], key: str, kind: Type[T]) -> Optional[T]:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ValueError("%s must be a %s" % (key, kind.__name__))
    return value


def _media_files(data: Dict[str, Any]) -> Dict[str, str]:
    files = data.get("additional_files") or {}
    if not isinstance(files, dict):
        raise ValueError("additional_files must be a mapping")
    for media_path, sha in files.items():
        if not isinstance(media_path, str) or not media_path.startswith("/") or ".." in media_path.split("/"):
            raise ValueError("invalid media path %r" % (media_path,))
        if not isinstance(sha, str):
            raise ValueError("additional_files[%r] must be a sha256" % media_path)
    return dict(files)


@dataclasses.dataclass
class SavedConfig:
    """What the ISO's boot config and media were made from (all fields optional: an ISO may be older)."""

    boot_id: Optional[str] = None
    volume_label: Optional[str] = None
    kernel_version: Optional[str] = None
    image_args: List[str] = dataclasses.field(default_factory=list)
    extra_args: List[str] = dataclasses.field(default_factory=list)
    additional_files: Dict[str, str] = dataclasses.field(default_factory=dict)
    boot_modes: List[str] = dataclasses.field(default_factory=list)
    secure_boot: bool = False
    compression: Optional[str] = None
    compression_level: Optional[int] = None
    generator: Optional[str] = None
    format: int = SAVED_CONFIG_FORMAT

    def to_json(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> "SavedConfig":
        """Parse the file's JSON; ValueError (with the field) for anything this version cannot read."""
        if not isinstance(data, dict):
            raise ValueError("not a mapping")
        version = data.get("format", SAVED_CONFIG_FORMAT)
        if version != SAVED_CONFIG_FORMAT:
            raise ValueError("format %r (this version reads format %d)" % (version, SAVED_CONFIG_FORMAT))
        return cls(boot_id=_optional(data, "boot_id", str), volume_label=_optional(data, "volume_label", str),
                   kernel_version=_optional(data, "kernel_version", str), image_args=_strings(data, "image_args"),
                   extra_args=_strings(data, "extra_args"), additional_files=_media_files(data),
                   boot_modes=_strings(data, "boot_modes"), secure_boot=bool(data.get("secure_boot", False)),
                   compression=_optional(data, "compression", str),
                   compression_level=_optional(data, "compression_level", int),
                   generator=_optional(data, "generator", str))

    @classmethod
    def parse(cls, data: Any, iso: str, media_path: str) -> "SavedConfig":
        """:meth:`from_json` with the ISO's name in the error a user sees."""
        try:
            return cls.from_json(data)
        except ValueError as exc:
            raise ImageError("%s carries an unreadable %s: %s." % (iso, media_path, exc),
                             "Rebuild it from its disk image.") from None
