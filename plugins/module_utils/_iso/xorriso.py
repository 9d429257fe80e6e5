# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ISO 9660 media through xorriso: build, remaster, grow, read (private to this collection).

Nothing here mounts an ISO (iso9660 may not be mountable on the build host):
files are read with ``xorriso -osirrox``, new ISOs are written with
``xorriso -as mkisofs``, and an existing ISO is remastered with
``-boot_image any replay`` so its BIOS/UEFI boot setup is kept byte for byte.
"""

from __future__ import annotations

import os
import re
from typing import Collection, List, Optional, Sequence, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import run, source_date_env
from ansible_collections.liveiso.customizer.plugins.module_utils._core.tools import BOOT_HYBRID_IMG
from ansible_collections.liveiso.customizer.plugins.module_utils._iso.ecma119 import SYSTEM_AREA_BYTES

Grafts = Sequence[Tuple[str, str]]  # [(path on media, host path)]
Mappings = Sequence[Tuple[str, str]]  # [(host path, media path)]


def graft_escape(path: str) -> str:
    """Escape a path for an ``-as mkisofs -graft-points`` pathspec (``=`` and ``\\``)."""
    return path.replace("\\", "\\\\").replace("=", "\\=")


def mkisofs_argv(output: str, label: str, grafts: Grafts, boot_modes: Collection[str], bios_image: Optional[str] = None,
                 efi_image: Optional[str] = None, source_date_epoch: Optional[int] = None) -> List[str]:
    """argv for a hybrid ISO. ``grafts`` is [(path on media, host path)]; boot images must be among them (the
    BIOS one with ``"bios"`` in ``boot_modes``, the EFI one with ``"uefi"``: ``ValueError`` without)."""
    argv = ["xorriso", "-as", "mkisofs", "-iso-level", "3", "-full-iso9660-filenames", "-volid", label,
            "-joliet", "-joliet-long", "-rational-rock", "-graft-points"]
    if source_date_epoch is not None:
        # Directories that graft points create have no source file: without this they get "now".
        argv += ["--set_all_file_dates", "=%d" % source_date_epoch]
    if "bios" in boot_modes:
        if bios_image is None:
            raise ValueError("a BIOS boot needs bios_image")
        argv += ["-eltorito-boot", bios_image.lstrip("/"), "-no-emul-boot", "-boot-load-size", "4",
                 "-boot-info-table", "--grub2-boot-info", "--grub2-mbr", BOOT_HYBRID_IMG]
    if "uefi" in boot_modes:
        if efi_image is None:
            raise ValueError("a UEFI boot needs efi_image")
        if "bios" in boot_modes:
            argv.append("-eltorito-alt-boot")
        # The EFI image also becomes a GPT "EFI System" partition, so the ISO boots on UEFI when
        # written to a USB stick (as grub-mkrescue does; -isohybrid-gpt-basdat needs -isohybrid-mbr).
        argv += ["-e", efi_image.lstrip("/"), "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
                 "--protective-msdos-label"]
    argv += ["-output", output]
    argv += ["%s=%s" % (graft_escape(target), graft_escape(source)) for target, source in grafts]
    return argv


def write_iso(output: str, label: str, grafts: Grafts, boot_modes: Collection[str], bios_image: Optional[str] = None,
              efi_image: Optional[str] = None, source_date_epoch: Optional[int] = None) -> None:
    run(mkisofs_argv(output, label, grafts, boot_modes, bios_image, efi_image, source_date_epoch),
        extra_env=source_date_env(source_date_epoch),
        what="xorriso (writing the ISO)", timeout=7200)


def save_system_area(iso: str, dest: str) -> str:
    """Copy the ISO's System Area (MBR, GPT, boot code: its first 32 KiB) to ``dest``."""
    with open(iso, "rb") as source, open(dest, "wb") as target:
        target.write(source.read(SYSTEM_AREA_BYTES))
    return dest


def remaster_argv(indev: str, outdev: str, label: str, mappings: Mappings, removals: Sequence[str] = (),
                  system_area: Optional[str] = None, grow_at: Optional[int] = None) -> List[str]:
    """argv that writes ``outdev`` as ``indev`` plus ``mappings`` [(host path, media path)], boot setup kept.

    With ``indev == outdev`` (``-dev``) the changes are appended to the ISO in place. With ``grow_at`` (a
    block address, see :func:`next_writable_block`) only the new session is written, to the file ``outdev``,
    addressed as if it started at that block of ``indev`` ("blind growing", see :mod:`grown_iso`). Growing
    keeps every unchanged file at its block address, so the old System Area (``system_area``: a file holding it,
    from :func:`save_system_area`) stays valid and is written back verbatim: its MBR still points at the
    BIOS core image and its GPT at the EFI boot image, whose blocks are untouched. (Left to itself, libisofs
    refuses: it can expose only a newly written EFI image as a GPT partition.) El Torito is replayed into
    the new session, so CD boots use the new catalog.
    """
    # no fsync per 32 MiB written (or of a reflinked/copied input's dirty pages): the build syncs the output
    # once, while hashing it, before publishing it
    argv = ["xorriso", "-report_about", "WARNING", "-stdio_sync", "off"]
    if grow_at is not None:
        argv += ["-indev", indev, "-outdev", "stdio:" + outdev, "-grow_blindly", str(grow_at)]
    else:
        argv += ["-dev", indev] if indev == outdev else ["-indev", indev, "-outdev", outdev]
    argv += ["-volid", label, "-joliet", "on", "-rockridge", "on"]
    for path in removals:
        argv += ["-rm_r", path, "--"]
    for source, target in mappings:
        argv += ["-map", source, target]
    argv += ["-boot_image", "any", "replay"]
    if system_area:
        argv += ["-boot_image", "any", "efi_boot_part=", "-boot_image", "any", "partition_table=off",
                 "-boot_image", "any", "system_area=" + system_area]
    argv += ["-commit"]
    return argv


def remaster(indev: str, outdev: str, label: str, mappings: Mappings, removals: Sequence[str] = (),
             source_date_epoch: Optional[int] = None, system_area: Optional[str] = None,
             grow_at: Optional[int] = None) -> None:
    run(remaster_argv(indev, outdev, label, mappings, removals, system_area, grow_at),
        extra_env=source_date_env(source_date_epoch),
        what="xorriso (remastering the ISO)", timeout=7200)


def extract(iso: str, media_path: str, dest: str) -> str:
    """Copy one file or directory from the ISO to host path ``dest``."""
    run(["xorriso", "-osirrox", "on", "-indev", iso,
         "-extract", media_path, dest],
        what="xorriso (reading %s from the ISO)" % media_path, timeout=3600)
    return dest


def read_text(iso: str, media_path: str, workdir: str) -> Optional[str]:
    """Text of a file on the ISO, or None if it is not there."""
    dest = os.path.join(workdir, "extract-" + re.sub(r"[^A-Za-z0-9]+", "_", media_path))
    try:
        extract(iso, media_path, dest)
    except CommandError:
        return None
    if not os.path.isfile(dest):
        return None
    with open(dest, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    os.unlink(dest)
    return text


def list_files(iso: str, media_dir: str = "/") -> List[str]:
    """Paths of all files below ``media_dir`` on the ISO."""
    result = run(
        ["xorriso", "-indev", iso, "-find", media_dir, "-type", "f"], check=False)
    stdout: str = result.stdout
    paths = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("'") and line.endswith("'"):
            paths.append(line[1:-1].replace("'\"'\"'", "'"))
    return paths
