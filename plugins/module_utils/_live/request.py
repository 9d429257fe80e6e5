# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The liveos_iso request and its validation (private to this collection): the options of a Live ISO build,
checked once, with the option name in every message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._live import media
from ansible_collections.liveiso.customizer.plugins.module_utils._live.plan import (
    BOOT_MODES,
    SECURE_BOOT,
    BootMode,
    SecureBoot,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.squashfs import COMPRESSORS, LEVELS


@dataclass(frozen=True)
class LiveIsoRequest:
    image: str
    output: str
    config: Config
    volume_label: Optional[str] = None
    compression: Optional[str] = None        # None: zstd, or the input Live ISO's
    compression_level: Optional[int] = None
    boot_modes: Optional[Tuple[str, ...]] = None  # None: bios + uefi, or the input Live ISO's
    secure_boot: str = "auto"
    source_date_epoch: Optional[int] = None
    build_dir: Optional[str] = None
    force: bool = False
    check_mode: bool = False
    checksum: bool = True  # not in options(): it does not change the output
    session_writer: str = "auto"  # who writes the fast path's new session; not in options(): same ISO

    def options(self) -> Dict[str, object]:
        """The options that enter the build's digest."""
        return {"volume_label": self.volume_label, "compression": self.compression,
                "compression_level": self.compression_level,
                "boot_modes": list(self.boot_modes) if self.boot_modes else None,
                "secure_boot": self.secure_boot, "source_date_epoch": self.source_date_epoch}


def validate_request(request: LiveIsoRequest) -> None:
    if request.volume_label is not None and not media.LABEL_RE.match(request.volume_label):
        raise ConfigError("volume_label", "%r is not a valid volume label" % request.volume_label,
                          "Use 1 to 32 characters of A-Z, a-z, 0-9, _ and -.")
    compression = request.compression or "zstd"
    if compression not in COMPRESSORS:
        raise ConfigError("compression", "%r is not one of %s" % (compression, ", ".join(COMPRESSORS)))
    bounds = LEVELS[compression]
    if request.compression_level is not None:
        if bounds is None:
            raise ConfigError("compression_level", "%s takes no compression level" % compression)
        if not bounds[0] <= request.compression_level <= bounds[1]:
            raise ConfigError("compression_level", "%d is out of range %d..%d for %s"
                              % (request.compression_level, bounds[0], bounds[1], compression))
    if request.boot_modes is not None and (not request.boot_modes
                                           or any(m not in BOOT_MODES for m in request.boot_modes)):
        raise ConfigError("boot_modes", "must be a non-empty list of bios and uefi")
    if request.secure_boot not in SECURE_BOOT:
        raise ConfigError("secure_boot", "%r is not one of %s" % (request.secure_boot, ", ".join(SECURE_BOOT)))
    if request.secure_boot == SecureBoot.REQUIRED and BootMode.UEFI not in (request.boot_modes or BOOT_MODES):
        raise ConfigError("secure_boot", "required needs uefi in boot_modes")
    if request.config.iso.initramfs_type == "full-os":
        raise ConfigError("config.iso.initramfsType", "full-os is not supported by liveiso.customizer",
                          "Use bootstrap (the default): a small dracut initrd that mounts the squashfs root.")
    if not request.output.endswith(".iso"):
        raise ConfigError("output", "must end in .iso")
    if request.source_date_epoch is not None and request.source_date_epoch < 0:
        raise ConfigError("source_date_epoch", "must be a non-negative number of seconds")
