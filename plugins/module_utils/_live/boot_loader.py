# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""GRUB for the live media: its config, BIOS El Torito image and UEFI FAT image (private to this collection).

BIOS: a ``grub-mkimage -O i386-pc-eltorito`` core image from the host's
grub-pc-bin (booted from CD, or from a USB stick through xorriso's
``--grub2-mbr``). UEFI: a FAT image made with mtools (no mount) holding
``EFI/BOOT/BOOTX64.EFI``. When the image carries a signed shim and Debian's
signed CD GRUB, those are used (Secure Boot); otherwise GRUB EFI is built from
the host's grub-efi-amd64-bin. Both GRUBs find the medium by a marker file
unique to this ISO (``/.disk/liveiso-<id>``) and read ``/boot/grub/grub.cfg``,
so the volume label can change on remaster without touching the boot images.
"""

from __future__ import annotations

import os
import shutil
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core import tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import HostError, ImageError, os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run, source_date_env
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.fat import MTOOLS_ENV
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import grub_quote

# The host's GRUB platform files (read at call time: tests point them elsewhere).
BIOS_DIR: str = tools.GRUB_BIOS_DIR
EFI_DIR: str = tools.GRUB_EFI_DIR
BOOT_HYBRID: str = tools.BOOT_HYBRID_IMG
COMMON_MODULES: Tuple[str, ...] = (
    "iso9660", "part_gpt", "part_msdos", "fat", "ext2", "normal", "search", "search_fs_file", "search_label",
    "search_fs_uuid", "configfile", "linux", "echo", "test", "serial", "terminal", "sleep", "ls", "cat", "halt",
    "reboot", "true", "gzio", "loadenv", "minicmd")
BIOS_MODULES: Tuple[str, ...] = COMMON_MODULES + ("biosdisk",)
EFI_MODULES: Tuple[str, ...] = COMMON_MODULES + ("efi_gop", "efi_uga", "all_video", "chain")
# Signed binaries of the image (Debian/Ubuntu: shim-signed, grub-efi-amd64-signed).
SHIM_CANDIDATES: Tuple[str, ...] = ("/usr/lib/shim/shimx64.efi.signed", "/usr/lib/shim/shimx64.efi")
MOK_CANDIDATES: Tuple[str, ...] = ("/usr/lib/shim/mmx64.efi.signed", "/usr/lib/shim/mmx64.efi")
SIGNED_GRUB_CANDIDATES: Tuple[str, ...] = ("/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",)


class GrubPlatform(StrEnum):
    """A firmware GRUB boots the live media from; the values are the boot modes (``boot_modes``)."""

    BIOS = "bios"
    UEFI = "uefi"

    @property
    def boot_image(self) -> str:
        """The media path of this mode's El Torito boot image."""
        return "/boot/grub/bios.img" if self is GrubPlatform.BIOS else "/boot/grub/efiboot.img"

    @property
    def mkimage_format(self) -> str:
        """grub-mkimage's ``-O``: an El Torito core image, or an EFI application."""
        return "i386-pc-eltorito" if self is GrubPlatform.BIOS else "x86_64-efi"

    @property
    def directory(self) -> str:
        """The host's GRUB module directory for this platform."""
        return BIOS_DIR if self is GrubPlatform.BIOS else EFI_DIR

    @property
    def modules(self) -> Tuple[str, ...]:
        return BIOS_MODULES if self is GrubPlatform.BIOS else EFI_MODULES

    def host_files_present(self) -> bool:
        """Does the host have this platform's GRUB files (BIOS: boot_hybrid.img, UEFI: the module directory)?"""
        if self is GrubPlatform.BIOS:
            return os.path.isfile(BOOT_HYBRID)
        return os.path.isdir(EFI_DIR)

    @property
    def host_package(self) -> str:
        """The Debian package with this platform's GRUB files."""
        return tools.debian_package(tools.BOOT_HYBRID_IMG if self is GrubPlatform.BIOS else tools.GRUB_EFI_DIR)


def marker_path(boot_id: str) -> str:
    """The media path of the marker file both GRUBs find this medium by."""
    return "/.disk/liveiso-%s" % boot_id


def early_config(boot_id: str) -> str:
    """Embedded config of our own GRUB images: find this medium, then read its grub.cfg."""
    return ("search --no-floppy --file --set=root %s\n"
            "set prefix=($root)/boot/grub\n"
            "configfile ($root)/boot/grub/grub.cfg\n" % marker_path(boot_id))


def grub_cfg(kernel_args: Iterable[str], title: str = "Live OS", timeout: int = 3) -> str:
    """The media's /boot/grub/grub.cfg (serial and screen consoles both)."""
    args = " ".join(grub_quote(arg) for arg in kernel_args)
    return ("# Written by liveiso.customizer\n"
            "set default=0\n"
            "set timeout=%d\n"
            "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1\n"
            "terminal_input console serial\n"
            "terminal_output console serial\n"
            "menuentry '%s' {\n"
            "    linux /boot/vmlinuz %s\n"
            "    initrd /boot/initrd.img\n"
            "}\n"
            "menuentry '%s (copy to RAM)' {\n"
            "    linux /boot/vmlinuz %s rd.live.ram=1\n"
            "    initrd /boot/initrd.img\n"
            "}\n" % (timeout, title.replace("'", ""), args, title.replace("'", ""), args))


def grub_mkimage_argv(platform: Union[GrubPlatform, str], output: str, config_path: str) -> List[str]:
    """The grub-mkimage argv of our GRUB image for ``platform`` (embedding ``config_path``)."""
    target = GrubPlatform(platform)
    return ["grub-mkimage", "-O", target.mkimage_format, "-d", target.directory, "-p", "/boot/grub",
            "-c", config_path, "-o", output] + list(target.modules)


def check_host_grub(boot_modes: Iterable[Union[GrubPlatform, str]]) -> None:
    """Fail with the packages to install when the host lacks the GRUB files of a boot mode."""
    platforms = [GrubPlatform(mode) for mode in boot_modes]
    needs = [platform.host_package for platform in platforms if not platform.host_files_present()]
    if needs:
        raise HostError("the host lacks GRUB platform files for %s." % ", ".join(platforms),
                        "Install them with: apt-get install %s" % " ".join(needs))


def find_signed_chain(chroot: Chroot) -> Optional[Dict[str, str]]:
    """{name on the ESP: image path} for shim + signed GRUB + MokManager, or None when the image lacks them."""
    def first(candidates: Sequence[str]) -> Optional[str]:
        for path in candidates:
            if os.path.isfile(chroot.path(path)):
                return path
        return None

    shim, grub = first(SHIM_CANDIDATES), first(SIGNED_GRUB_CANDIDATES)
    if not (shim and grub):
        return None
    chain = {"BOOTX64.EFI": shim, "grubx64.efi": grub}
    mok = first(MOK_CANDIDATES)
    if mok:
        chain["mmx64.efi"] = mok
    return chain


def _write_early_config(workdir: str, name: str, boot_id: str) -> str:
    config = os.path.join(workdir, name)
    with os_errors_as("write GRUB's early config", config), open(config, "w") as handle:
        handle.write(early_config(boot_id))
    return config


def make_bios_image(workdir: str, boot_id: str) -> str:
    """Our BIOS El Torito GRUB image, in ``workdir``; its path."""
    config = _write_early_config(workdir, "early-bios.cfg", boot_id)
    output = os.path.join(workdir, "bios.img")
    run(grub_mkimage_argv(GrubPlatform.BIOS, output, config), what="grub-mkimage (BIOS El Torito image)")
    return output


def make_efi_image(workdir: str, boot_id: str, signed_files: Optional[Mapping[str, str]] = None,
                   volume_id: str = "1E5B0075", mtime: Optional[int] = None) -> Tuple[str, Dict[str, str]]:
    """A FAT image with EFI/BOOT/*; ``signed_files`` {name: host path} replaces our GRUB with shim's chain.

    Returns (the image's path, {name in EFI/BOOT: host path}).
    """
    staging = os.path.join(workdir, "efi-files")
    os.makedirs(staging, exist_ok=True)
    files: Dict[str, str] = {}
    if signed_files:
        for name, path in signed_files.items():
            files[name] = os.path.join(staging, name)
            with os_errors_as("copy the signed EFI binary %s" % name, path):
                shutil.copyfile(path, files[name])
    else:
        config = _write_early_config(workdir, "early-efi.cfg", boot_id)
        files["BOOTX64.EFI"] = os.path.join(staging, "BOOTX64.EFI")
        run(grub_mkimage_argv(GrubPlatform.UEFI, files["BOOTX64.EFI"], config), what="grub-mkimage (UEFI GRUB)")
    for path in files.values():
        set_mtime(path, mtime)
    total = sum(os.path.getsize(p) for p in files.values())
    size_kib = max(1440, ((total * 11 // 10) // 1024 + 512 + 31) // 32 * 32)
    image = os.path.join(workdir, "efiboot.img")
    env = dict(MTOOLS_ENV, **source_date_env(mtime))
    # No volume label: mkfs.vfat would stamp its directory entry with the current time.
    run(["mkfs.vfat", "-C", "-i", volume_id, image, str(size_kib)], extra_env=env,
        what="mkfs.vfat (UEFI boot image)")
    for directory in ("::/EFI", "::/EFI/BOOT"):
        run(["mmd", "-i", image, directory], extra_env=env)
    for name in sorted(files):
        run(["mcopy", "-m", "-i", image, files[name], "::/EFI/BOOT/" + name], extra_env=env,
            what="mcopy %s into the UEFI boot image" % name)
    return image, files


def require_secure_boot_chain(chain: Optional[Mapping[str, str]], policy: str) -> None:
    """Fail when ``policy`` (secure_boot) is "required" and the image has no signed chain."""
    if policy == "required" and not chain:
        raise ImageError("secure_boot is required but the image has no signed shim and signed GRUB.",
                         "Add them to the config: os.packages.install: [shim-signed, grub-efi-amd64-signed].")
