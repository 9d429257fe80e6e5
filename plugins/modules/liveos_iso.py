#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: liveos_iso
short_description: Build a hybrid BIOS+UEFI Live OS ISO from a disk image or an earlier Live ISO
version_added: 0.1.0
description:
  - Turns a Linux disk image (raw, qcow2, vhd, vhdx) into a Live OS ISO that boots into a squashfs root
    filesystem (dracut dmsquash-live, overlayfs) on BIOS and UEFI machines, from CD or written to a USB stick,
    with extra files on the media (for example a cloud-init NoCloud seed).
  - The initramfs is rebuilt inside the image with its own dracut (the image needs C(dracut) and C(dracut-live)).
    When the image carries a signed shim and signed GRUB, the UEFI path is shim, signed GRUB, signed kernel,
    so the ISO boots with Secure Boot on.
  - Given a Live ISO made by this collection and only O(iso) changes, the ISO is remastered without unpacking
    or recompressing its root filesystem (the per-site fast path); its boot setup is kept. Earlier extra kernel
    arguments and media files are kept (earlier arguments first); a new file with the same destination replaces
    the old one.
  - ISOs are read and written with xorriso (the fast path writes its new session itself); no iso9660 or vfat
    mount is needed on the build host.
  - See C(docs/liveos-iso.md) in the collection.
author:
  - liveiso.customizer contributors (@liveiso)
requirements:
  - Root on the managed host (C(become)), with loop devices and the squashfs and overlay filesystems.
  - Python 3 with PyYAML on the managed host (tested with Python 3.11, Debian 12).
  - "Host tools: C(qemu-img) (qemu-utils), C(sfdisk) (fdisk), C(losetup), C(blkid), C(mount), C(umount)
    (util-linux, mount), C(chroot) (coreutils), C(mksquashfs) (squashfs-tools), C(xorriso), C(grub-mkimage)
    with the BIOS and UEFI platform files (grub-pc-bin, grub-efi-amd64-bin), C(mkfs.vfat) (dosfstools),
    C(mcopy), C(mmd) and C(mdir) (mtools). The collection's C(bindep.txt) lists the packages."
  - C(dracut) and C(dracut-live) in the image (a disk image input; a Live ISO input already has its initrd).
extends_documentation_fragment:
  - liveiso.customizer.build
  - liveiso.customizer.build.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - liveiso.customizer.live_iso
options:
  image:
    description:
      - Input disk image (raw, qcow2, vhd, vhdx) or Live ISO (made by this collection, or by the Image
        Customizer with C(/liveos/rootfs.img)). Detected from its content. Never modified.
    type: path
    required: true
  output:
    description:
      - Path of the ISO to write; must end in C(.iso).
    type: path
    required: true
  iso:
    description:
      - The C(iso) section of the Image Customizer configuration (camelCase keys).
    type: dict
    suboptions:
      additionalFiles:
        description:
          - Files to put on the media, as a list of C({source | content, destination, permissions}) or as a
            map from C(source) to C(destination). A file at C(/dest) is readable at C(/run/initramfs/live/dest) in the
            booted system.
        type: raw
      kernelCommandLine:
        description:
          - C(extraCommandLine), a list of extra kernel arguments (or one string).
        type: dict
      initramfsType:
        description:
          - C(bootstrap) (a small dracut initrd that mounts the squashfs root). C(full-os) is not supported.
        type: str
        choices: [bootstrap, full-os]
        default: bootstrap
'''

EXAMPLES = r'''
# The image must link /var/lib/cloud/seed/nocloud to <medium>/cloud-init-data (the postCustomization script of
# cloudinit_seed's placement=iso fragment, run by image_customize), or cloud-init never reads the seed: the
# module warns when nothing in the image links or points to /cloud-init-data.
- name: Live ISO with a cloud-init seed on the media
  liveiso.customizer.liveos_iso:
    image: /srv/images/debian-12.qcow2
    output: /srv/iso/base.iso
    config_dir: /srv/seed
    iso:
      additionalFiles:
        cloud-init-data/user-data: /cloud-init-data/user-data
        cloud-init-data/meta-data: /cloud-init-data/meta-data
        cloud-init-data/network-config: /cloud-init-data/network-config
      kernelCommandLine:
        extraCommandLine: [ds=nocloud, console=ttyS0]
  become: true

- name: Per-site ISO from the base ISO (fast path, no squashfs rebuild)
  liveiso.customizer.liveos_iso:
    image: /srv/iso/base.iso
    output: /srv/iso/site-a.iso
    config_dir: /srv/sites/site-a
    iso:
      additionalFiles:
        - source: user-data
          destination: /cloud-init-data/user-data
  become: true
'''

RETURN = r'''
output:
  description: Absolute path of the ISO.
  returned: always
  type: str
input_format:
  description: Format detected for the input (V(iso) for a Live ISO).
  returned: always
  type: str
  sample: qcow2
sha256:
  description: SHA-256 of the ISO; V(null) with O(checksum=false).
  returned: when a build ran or the ISO is up to date (not in check mode when a build would happen)
  type: str
size:
  description: Size of the ISO in bytes.
  returned: when a build ran or the ISO is up to date
  type: int
volume_label:
  description: The ISO's volume label.
  returned: when a build ran or the ISO is up to date
  type: str
  sample: LIVE_1A2B3C4D5E
kernel_cmdline:
  description: The kernel command line of the ISO's default boot entry.
  returned: when a build ran or the ISO is up to date
  type: str
  sample: root=live:CDLABEL=LIVE_1A2B3C4D5E rd.live.image rd.live.dir=liveos rd.live.squashimg=rootfs.img rd.live.overlay.overlayfs ds=nocloud
boot_modes:
  description: Firmware the ISO boots on.
  returned: when a build ran or the ISO is up to date
  type: list
  elements: str
  sample: [bios, uefi]
secure_boot:
  description: Whether the UEFI path is the image's signed shim chain (boots with Secure Boot on).
  returned: when a build ran or the ISO is up to date
  type: bool
build_path:
  description: C(full) (from a disk image), C(remaster) (ISO in, only media changes), or C(rebuild-from-iso).
  returned: when a build ran or the ISO is up to date
  type: str
  sample: remaster
copy_method:
  description:
    - How the fast path (RV(build_path=remaster)) copied the input ISO; the new session is appended to the
      copy. C(reflink) shares the input's blocks (xfs, btrfs; no data moves), C(copy) is an in-kernel copy.
    - V(null) for the other build paths.
  returned: when a build ran or the ISO is up to date
  type: str
  sample: reflink
build_seconds:
  description: Seconds the build of this ISO took (for an up-to-date ISO, those of the build that made it).
  returned: when a build ran or the ISO is up to date
  type: float
digest:
  description: Digest of all inputs.
  returned: always
  type: str
steps:
  description: The steps that ran, in order, with their duration in seconds. In check mode, the steps that would run.
  returned: always
  type: list
  elements: dict
notes:
  description: Facts about the build (mounts, fast path taken).
  returned: when a build ran
  type: list
  elements: str
log:
  description: Path of the build log, kept when O(build_dir) is set.
  returned: when a build ran with O(build_dir)
  type: str
msg:
  description: What happened, in one line; on failure, the cause and what to do.
  returned: always
  type: str
error:
  description: The kind of error, when the module failed on its input or the host (C(ConfigError), C(ImageError),
    C(HostError), C(CommandError), C(StepError), C(BuildInterrupted)).
  returned: on failure
  type: str
  sample: ImageError
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils.module_glue import BUILD_OPTIONS, LIVE_ISO_OPTIONS, run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type='path', required=True),
            output=dict(type='path', required=True),
            iso=dict(type='dict', options=dict(
                additionalFiles=dict(type='raw'),
                kernelCommandLine=dict(type='dict'),
                initramfsType=dict(type='str', choices=['bootstrap', 'full-os'], default='bootstrap'),
            )),
            **dict(BUILD_OPTIONS, **LIVE_ISO_OPTIONS)
        ),
        supports_check_mode=True,
    )
    run_module(module, module_glue.liveos_iso)


if __name__ == '__main__':
    main()
