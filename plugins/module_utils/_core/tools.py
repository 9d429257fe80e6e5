# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host tools and files the library needs, in one table (private to this collection).

:data:`HOST_TOOLS` names each command the library runs (and the host files it reads, such as GRUB's
platform files), the Debian and Fedora packages that provide it, and the pipelines that need it on every
build. :func:`runner.require_tools` names the packages to install from it; each pipeline's tool set is
:func:`needed_by` its name; bindep.txt must list every package here (a unit test checks), and the
build_host role's package lists and tool check should be this table too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum

# GRUB's platform files on the build host (Debian grub-pc-bin / grub-efi-amd64-bin, Fedora grub2-pc-modules /
# grub2-efi-x64-modules): grub-mkimage reads the modules, xorriso writes boot_hybrid.img as the ISO's MBR.
GRUB_BIOS_DIR: str = "/usr/lib/grub/i386-pc"
GRUB_EFI_DIR: str = "/usr/lib/grub/x86_64-efi"
BOOT_HYBRID_IMG: str = GRUB_BIOS_DIR + "/boot_hybrid.img"


class Pipeline(StrEnum):
    """What a build makes (the module that runs it)."""

    IMAGE_CUSTOMIZE = "image_customize"  # a customized disk image
    LIVEOS_ISO = "liveos_iso"            # a Live OS ISO


@dataclass(frozen=True)
class HostTool:
    """A command on the build host's PATH (or, when ``name`` is an absolute path, a file it must have)."""

    name: str
    debian: str
    fedora: Optional[str]  # None: tests only, which run on Debian
    needed_by: FrozenSet[Pipeline] = frozenset()  # empty: only some builds (checked where used) or tests

    @property
    def is_file(self) -> bool:
        return self.name.startswith("/")


_BOTH: FrozenSet[Pipeline] = frozenset(Pipeline)
_DISK: FrozenSet[Pipeline] = frozenset({Pipeline.IMAGE_CUSTOMIZE})
_LIVE: FrozenSet[Pipeline] = frozenset({Pipeline.LIVEOS_ISO})

HOST_TOOLS: Tuple[HostTool, ...] = (
    HostTool("qemu-img", "qemu-utils", "qemu-img", _BOTH),
    HostTool("sfdisk", "fdisk", "util-linux", _BOTH),
    HostTool("blkid", "util-linux", "util-linux", _BOTH),
    HostTool("losetup", "mount", "util-linux", _BOTH),
    HostTool("mount", "mount", "util-linux", _BOTH),
    HostTool("umount", "mount", "util-linux", _BOTH),
    HostTool("chroot", "coreutils", "coreutils", _BOTH),
    HostTool("cp", "coreutils", "coreutils", _BOTH),
    HostTool("mksquashfs", "squashfs-tools", "squashfs-tools", _LIVE),
    HostTool("unshare", "util-linux", "util-linux", _LIVE),  # mksquashfs in a private mount namespace
    HostTool("xorriso", "xorriso", "xorriso", _LIVE),
    HostTool("grub-mkimage", "grub-common", "grub2-tools", _LIVE),  # Fedora names it grub2-mkimage
    HostTool("mkfs.vfat", "dosfstools", "dosfstools", _LIVE),
    HostTool("mcopy", "mtools", "mtools", _BOTH),
    HostTool("mmd", "mtools", "mtools", _BOTH),
    HostTool("mdir", "mtools", "mtools", _BOTH),
    HostTool("mdel", "mtools", "mtools", _DISK),
    HostTool("mdeltree", "mtools", "mtools", _DISK),
    # GRUB platform files: needed per boot mode (boot_loader.check_host_grub)
    HostTool(BOOT_HYBRID_IMG, "grub-pc-bin", "grub2-pc-modules"),
    HostTool(GRUB_EFI_DIR, "grub-efi-amd64-bin", "grub2-efi-x64-modules"),
    # tests and the demo: unpacking squashfs roots, building the Debian base image, booting ISOs under qemu
    HostTool("unsquashfs", "squashfs-tools", None),
    HostTool("mkfs.ext4", "e2fsprogs", None),
    HostTool("mformat", "mtools", None),
    HostTool("debootstrap", "debootstrap", None),
    HostTool("qemu-system-x86_64", "qemu-system-x86", None),
)
_BY_NAME: Dict[str, HostTool] = {tool.name: tool for tool in HOST_TOOLS}


def debian_package(name: str) -> str:
    """The Debian package that provides ``name`` (``name`` itself when the table does not know it)."""
    tool = _BY_NAME.get(name)
    return tool.debian if tool else name


def needed_by(pipeline: Union[Pipeline, str]) -> Tuple[str, ...]:
    """The commands every build of ``pipeline`` runs (``"image_customize"`` or ``"liveos_iso"``)."""
    wanted = Pipeline(pipeline)
    return tuple(tool.name for tool in HOST_TOOLS if wanted in tool.needed_by and not tool.is_file)
