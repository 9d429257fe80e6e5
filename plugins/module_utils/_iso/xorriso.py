# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ISO 9660 media through xorriso: build, remaster, grow, read (private to this collection).

Nothing here mounts an ISO (iso9660 may not be mountable on the build host):
files are read with ``xorriso -osirrox``, new ISOs are written with
``xorriso -as mkisofs``, and an existing ISO is remastered with
``-boot_image any replay`` so its BIOS/UEFI boot setup is kept byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import struct

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import is_iso9660
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import clean_env, run

SAVED_CONFIG = "/liveiso/config.json"
ROOTFS = "/liveos/rootfs.img"
MIC_GRUB_CFG = "/boot/grub2/grub.cfg"
LABEL_RE = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")  # use .match: anchored at both ends


def graft_escape(path):
    """Escape a path for an ``-as mkisofs -graft-points`` pathspec (``=`` and ``\\``)."""
    return path.replace("\\", "\\\\").replace("=", "\\=")


def _env(source_date_epoch=None):
    return clean_env({"SOURCE_DATE_EPOCH": str(source_date_epoch)} if source_date_epoch is not None else None)


def mkisofs_argv(output, label, grafts, boot_modes, bios_image=None, efi_image=None, source_date_epoch=None):
    """argv for a hybrid ISO. ``grafts`` is [(path on media, host path)]; boot images must be among them."""
    argv = ["xorriso", "-as", "mkisofs", "-iso-level", "3", "-full-iso9660-filenames", "-volid", label,
            "-joliet", "-joliet-long", "-rational-rock", "-graft-points"]
    if source_date_epoch is not None:
        # Directories that graft points create have no source file: without this they get "now".
        argv += ["--set_all_file_dates", "=%d" % source_date_epoch]
    if "bios" in boot_modes:
        argv += ["-eltorito-boot", bios_image.lstrip("/"), "-no-emul-boot", "-boot-load-size", "4",
                 "-boot-info-table", "--grub2-boot-info", "--grub2-mbr", "/usr/lib/grub/i386-pc/boot_hybrid.img"]
    if "uefi" in boot_modes:
        if "bios" in boot_modes:
            argv.append("-eltorito-alt-boot")
        # The EFI image also becomes a GPT "EFI System" partition, so the ISO boots on UEFI when
        # written to a USB stick (as grub-mkrescue does; -isohybrid-gpt-basdat needs -isohybrid-mbr).
        argv += ["-e", efi_image.lstrip("/"), "-no-emul-boot", "-efi-boot-part", "--efi-boot-image",
                 "--protective-msdos-label"]
    argv += ["-output", output]
    argv += ["%s=%s" % (graft_escape(target), graft_escape(source)) for target, source in grafts]
    return argv


def write_iso(output, label, grafts, boot_modes, bios_image=None, efi_image=None, source_date_epoch=None):
    run(mkisofs_argv(output, label, grafts, boot_modes, bios_image, efi_image, source_date_epoch),
        env=_env(source_date_epoch),
        what="xorriso (writing the ISO)", timeout=7200)


SYSTEM_AREA_BYTES = 32768


def save_system_area(iso, dest):
    """Copy the ISO's System Area (MBR, GPT, boot code: its first 32 KiB) to ``dest``."""
    with open(iso, "rb") as source, open(dest, "wb") as target:
        target.write(source.read(SYSTEM_AREA_BYTES))
    return dest


def remaster_argv(indev, outdev, label, mappings, removals=(), system_area=None, grow_at=None):
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


def remaster(indev, outdev, label, mappings, removals=(), source_date_epoch=None, system_area=None, grow_at=None):
    run(remaster_argv(indev, outdev, label, mappings, removals, system_area, grow_at), env=_env(source_date_epoch),
        what="xorriso (remastering the ISO)", timeout=7200)


BLOCK = 2048
HEAD_BYTES = 65536  # System Area (16 blocks) + the volume descriptor area a grown ISO rewrites (16 blocks)
_VD_PRIMARY, _VD_SUPPLEMENTARY, _VD_TERMINATOR = 1, 2, 255


def _descriptor(block, iso):
    if block[1:6] != b"CD001":
        raise ImageError("%s has no ISO 9660 volume descriptor where one belongs." % iso,
                         "Check that the file is a complete ISO image.")
    return block[0]


def next_writable_block(iso):
    """The block where xorriso appends the next session to ``iso``: the end of its newest session (the
    volume size in the primary volume descriptor), rounded up to 32 blocks, as libisoburn does when it grows
    an ISO image in a file."""
    with open(iso, "rb") as handle:
        handle.seek(16 * BLOCK)
        pvd = handle.read(BLOCK)
    if len(pvd) < BLOCK or _descriptor(pvd, iso) != _VD_PRIMARY:
        raise ImageError("%s has no ISO 9660 primary volume descriptor." % iso,
                         "Check that the file is a complete ISO image.")
    return append_block(struct.unpack_from("<I", pvd, 80)[0])


def append_block(volume_blocks):
    """Where libisoburn appends a session to an ISO of ``volume_blocks``: rounded up to 32 blocks."""
    return -(-volume_blocks // 32) * 32


def grown_head(input_head, session, grow_at):
    """The first 64 KiB of an ISO grown by ``session`` (written with ``grow_at``), from ``input_head`` (the
    input's first 64 KiB): the input's System Area, the session's volume descriptors up to their terminator
    with the volume size counted from the start of the ISO, then the input's bytes again. That is what
    libisoburn writes to the start of an ISO it grows in place (tests compare the two byte for byte).
    """
    if len(input_head) != HEAD_BYTES:
        raise ImageError("the ISO to grow is shorter than %d bytes." % HEAD_BYTES)
    with open(session, "rb") as handle:
        handle.seek(SYSTEM_AREA_BYTES)
        descriptors = bytearray(handle.read(HEAD_BYTES - SYSTEM_AREA_BYTES))
    if len(descriptors) != HEAD_BYTES - SYSTEM_AREA_BYTES:
        raise ImageError("xorriso wrote a session of %s without its volume descriptors." % session)
    for offset in range(0, len(descriptors), BLOCK):
        kind = _descriptor(descriptors[offset:offset + BLOCK], session)
        if kind in (_VD_PRIMARY, _VD_SUPPLEMENTARY):
            blocks = grow_at + struct.unpack_from("<I", descriptors, offset + 80)[0]
            struct.pack_into("<I", descriptors, offset + 80, blocks)
            struct.pack_into(">I", descriptors, offset + 84, blocks)
        elif kind == _VD_TERMINATOR:
            end = SYSTEM_AREA_BYTES + offset + BLOCK
            return b"".join((bytes(input_head[:SYSTEM_AREA_BYTES]), bytes(descriptors[:offset + BLOCK]),
                             bytes(input_head[end:])))
    raise ImageError("xorriso wrote a session of %s without a volume descriptor terminator." % session)


def extract(iso, media_path, dest):
    """Copy one file or directory from the ISO to host path ``dest``."""
    run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", media_path, dest],
        what="xorriso (reading %s from the ISO)" % media_path, timeout=3600)
    return dest


def read_text(iso, media_path, workdir):
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


def list_files(iso, media_dir="/"):
    """Paths of all files below ``media_dir`` on the ISO."""
    result = run(["xorriso", "-indev", iso, "-find", media_dir, "-type", "f"], check=False)
    paths = []
    for line in result.stdout.splitlines():
        line = line.strip()
        if line.startswith("'") and line.endswith("'"):
            paths.append(line[1:-1].replace("'\"'\"'", "'"))
    return paths


def volume_label(iso):
    """The volume id of an ISO, or None for a file that is not ISO 9660."""
    if not is_iso9660(iso):
        return None
    result = run(["xorriso", "-indev", iso, "-pvd_info"], check=False)
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith("Volume Id"):
            return line.split(":", 1)[1].strip()
    return None


class LiveIso(object):
    """What an existing Live ISO is: ours (with its saved config) or the reference tool's layout."""

    def __init__(self, path, flavour, saved, files):
        self.path = path
        self.flavour = flavour  # "liveiso" or "mic"
        self.saved = saved or {}
        self.files = files


def open_live_iso(path, workdir):
    files = list_files(path)
    if not files:
        raise ImageError("%s is an ISO image but xorriso cannot read any file from it." % path,
                         "Check that the file is complete.")
    if SAVED_CONFIG in files:
        text = read_text(path, SAVED_CONFIG, workdir)
        try:
            saved = json.loads(text or "")
            media_paths = list((saved.get("additional_files") or {}) if isinstance(saved, dict) else [])
        except (ValueError, AttributeError):
            raise ImageError("%s carries an unreadable %s." % (path, SAVED_CONFIG),
                             "Rebuild it from its disk image.")
        for media_path in media_paths:
            if not isinstance(media_path, str) or not media_path.startswith("/") or ".." in media_path.split("/"):
                raise ImageError("%s carries an invalid media path %r in %s." % (path, media_path, SAVED_CONFIG),
                                 "Rebuild it from its disk image.")
        return LiveIso(path, "liveiso", saved, files)
    if ROOTFS in files:
        return LiveIso(path, "mic", {}, files)
    raise ImageError("%s is an ISO image but not a Live OS ISO: it has no %s." % (path, ROOTFS),
                     "Give a disk image, or a Live ISO made by liveiso.customizer or the Image Customizer.")
