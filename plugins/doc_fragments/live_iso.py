# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options of Live OS ISO output (liveos_iso, and image_customize with output_format=iso).
    DOCUMENTATION = r'''
options:
  volume_label:
    description:
      - ISO volume label; the kernel finds the medium by it (C(root=live:CDLABEL=<label>)).
      - 1 to 32 characters of C(A-Z), C(a-z), C(0-9), C(_) and C(-).
      - Defaults to C(LIVE_) followed by 10 hex digits of the build's input digest, so two different ISOs
        never share a label (a label shared with another disk of the machine can make the wrong one boot).
    type: str
  compression:
    description:
      - Compressor of the squashfs root filesystem.
      - Defaults to C(zstd); for a Live ISO input, to the compressor it was built with (a different one
        rebuilds the squashfs instead of taking the remaster fast path).
    type: str
    choices: [zstd, xz, gzip, lz4]
  compression_level:
    description:
      - Compression level for C(zstd) (1-22) or C(gzip) (1-9). Defaults to mksquashfs's default (zstd 15, gzip 9),
        or for a Live ISO input built with the same compressor, to its level.
    type: int
  boot_modes:
    description:
      - Firmware the ISO boots on. C(bios) adds a GRUB El Torito image and a hybrid MBR; C(uefi) adds a FAT
        EFI boot image and a GPT, so the ISO also boots when written to a USB stick.
      - Defaults to both; for a Live ISO input, to the boot modes it was built with.
    type: list
    elements: str
    choices: [bios, uefi]
  secure_boot:
    description:
      - C(auto) uses the image's signed shim and signed GRUB (Debian C(shim-signed), C(grub-efi-amd64-signed))
        for UEFI when the image has them, so the ISO boots with Secure Boot on; otherwise GRUB EFI from the host.
      - C(required) fails if the image lacks them. C(off) always uses the host's unsigned GRUB EFI.
    type: str
    choices: [auto, required, "off"]
    default: auto
  source_date_epoch:
    description:
      - Seconds since 1970 used for every timestamp in the ISO, its squashfs and its initrd, so the same inputs
        give a byte-identical ISO (reproducible builds).
    type: int
  session_writer:
    description:
      - Who writes the new ISO session of the per-site fast path (a Live ISO in, only changes of the
        configuration's C(iso) section).
      - V(auto) writes it in Python (about 2 ms) for the shapes this collection makes, and falls back to
        xorriso for any other ISO; the result's C(notes) say which wrote it and why.
      - V(xorriso) always lets xorriso write it (slower, as its internal polling costs about 0.2 s a build).
      - V(here) requires the Python writer and fails clearly for an ISO it cannot grow.
      - Not part of the build's digest (the ISO has the same files either way).
    type: str
    choices: [auto, here, xorriso]
    default: auto
'''
