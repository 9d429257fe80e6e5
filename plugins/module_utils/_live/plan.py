# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Live ISO's plan: label, boot id, kernel arguments and media files, computed once from the request,
the digest and the ISO's saved config (private to this collection).

Kernel-argument policy: the live arguments first, then the disk image's own (minus those that make no sense
on a live medium), then the user's extra arguments; earlier ISOs' arguments are kept on re-customization.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Dict, Iterable, List, Mapping, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.hashing import sha256_file
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import missing_args
from ansible_collections.liveiso.customizer.plugins.module_utils._live.boot_loader import GrubPlatform
from ansible_collections.liveiso.customizer.plugins.module_utils._live.saved_config import SavedConfig

if TYPE_CHECKING:
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import FileSpec
    from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest  # imports this


# The boot modes are GRUB's platforms: one enum for both (its El Torito image, its grub-mkimage format).
BootMode = GrubPlatform


class SecureBoot(StrEnum):
    """What to do about Secure Boot (the ``secure_boot`` option)."""

    AUTO = "auto"  #: use the image's signed shim chain when it has one, else plain GRUB
    REQUIRED = "required"  #: the image's signed chain or fail (needs uefi)
    OFF = "off"  #: plain GRUB, never the signed chain

    @property
    def wants_chain(self) -> bool:
        return self is not SecureBoot.OFF

    def accepts(self, signed: bool) -> bool:
        """Does an ISO that boots signed (or not) meet this policy? (the fast path keeps the ISO's chain)"""
        return not (self is SecureBoot.OFF and signed or self is SecureBoot.REQUIRED and not signed)


BOOT_MODES: Tuple[str, ...] = tuple(mode.value for mode in BootMode)
SECURE_BOOT: Tuple[str, ...] = tuple(policy.value for policy in SecureBoot)

# Arguments of the disk image's own boot entry that make no sense on a live medium.
DROPPED_IMAGE_ARGS: Tuple[str, ...] = ("root=", "ro", "rw", "BOOT_IMAGE=", "initrd=", "rootflags=", "rootfstype=",
                                       "resume=", "rd.live.", "rd.luks.", "rd.lvm.", "rd.md.")


def live_args(label: str) -> List[str]:
    return ["root=live:CDLABEL=%s" % label, "rd.live.image", "rd.live.dir=liveos", "rd.live.squashimg=rootfs.img",
            "rd.live.overlay.overlayfs"]


def image_args_for_live(args: Iterable[str]) -> List[str]:
    return [a for a in args if not any(a == d or (d.endswith("=") or d.endswith(".")) and a.startswith(d)
                                       for d in DROPPED_IMAGE_ARGS)]


def merge_files(saved: Optional[Mapping[str, str]], new_specs: Iterable[FileSpec]) -> Dict[str, str]:
    """{media path: sha256} of the files the ISO carries: earlier ones, then new ones replacing same paths."""
    merged = dict(saved or {})
    for spec in new_specs:
        if spec.source:
            merged[spec.destination] = sha256_file(spec.source)
        else:
            merged[spec.destination] = hashlib.sha256((spec.content or "").encode()).hexdigest()  # one of the two
    return merged


class LivePlan(object):
    """Everything the ISO's boot config and saved config say: computed once, written by the steps."""

    def __init__(self, request: LiveIsoRequest, digest: str, saved: Optional[SavedConfig] = None) -> None:
        saved = saved or SavedConfig()
        self.label: str = request.volume_label or "LIVE_%s" % digest[:10].upper()
        self.boot_id: str = saved.boot_id or digest[:16]
        self.image_args: List[str] = list(saved.image_args)
        earlier = list(saved.extra_args)
        self.extra_args: List[str] = earlier + missing_args(earlier, request.config.iso.kernel_extra_args)
        self.files: Dict[str, str] = merge_files(saved.additional_files, request.config.iso.additional_files)
        self.kernel_version: Optional[str] = saved.kernel_version
        self.secure_boot: bool = saved.secure_boot
        self.esp_copies: List[Tuple[str, str]] = []  # the image's ESPs copied for the build: (description, host dir)
        self.boot_modes: List[str] = list(request.boot_modes or saved.boot_modes or BOOT_MODES)
        self.compression: str = request.compression or saved.compression or "zstd"
        self.compression_level: Optional[int] = request.compression_level
        if self.compression_level is None and self.compression == saved.compression:
            self.compression_level = saved.compression_level

    def kernel_args(self) -> List[str]:
        args = live_args(self.label)
        return args + missing_args(args, self.image_args + missing_args(self.image_args, self.extra_args))

    def saved_config(self) -> SavedConfig:
        return SavedConfig(generator="liveiso.customizer %s" % COLLECTION_VERSION, boot_id=self.boot_id,
                           volume_label=self.label, kernel_version=self.kernel_version,
                           image_args=self.image_args, extra_args=self.extra_args, additional_files=self.files,
                           boot_modes=self.boot_modes, secure_boot=self.secure_boot,
                           compression=self.compression, compression_level=self.compression_level)
