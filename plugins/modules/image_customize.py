#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: image_customize
short_description: Customize a Linux disk image in a chroot
version_added: 0.1.0
description:
  - Copies a raw, qcow2, vhd or vhdx disk image, mounts its filesystems as its own C(/etc/fstab) describes,
    and applies the C(os) and C(scripts) sections of an Azure Linux Image Customizer configuration inside a
    chroot - packages, hostname, groups, users, directories, files, services, kernel modules, kernel command
    line, scripts - in the reference tool's order; then writes the result in the requested format.
  - The configuration is validated strictly before anything is built; errors name the full key path.
  - See C(docs/configuration.md) in the collection for every supported key.
author:
  - liveiso.customizer contributors (@liveiso)
requirements:
  - Root on the managed host (C(become)), with loop devices.
  - Python 3 with PyYAML on the managed host (tested with Python 3.11, Debian 12).
  - "Host tools: C(qemu-img) (qemu-utils), C(sfdisk) (fdisk), C(losetup), C(blkid), C(mount), C(umount)
    (util-linux, mount), C(chroot) (coreutils), C(mcopy) and C(mdir) (mtools). The collection's C(bindep.txt)
    lists the packages."
  - With O(output_format=iso), the host tools of M(liveiso.customizer.liveos_iso) too, and C(dracut) and
    C(dracut-live) in the image.
extends_documentation_fragment:
  - liveiso.customizer.build
  - liveiso.customizer.build.ATTRIBUTES
  - ansible.builtin.action_common_attributes
  - liveiso.customizer.live_iso
options:
  image:
    description:
      - Input disk image (raw, qcow2, vhd, vhdx), or a Live ISO when O(output_format=iso). Its format is
        detected from its content.
      - Never modified.
      - Defaults to the configuration's C(input.image.path); one of the two is required. Given both, this wins.
    type: path
  output:
    description:
      - Path of the customized image to write. Must differ from O(image).
      - Defaults to the configuration's C(output.image.path); one of the two is required. Given both, this wins.
    type: path
  output_format:
    description:
      - Format of O(output). C(vhd) is a dynamic VHD, C(vhd-fixed) a fixed one.
      - C(iso) builds a Live OS ISO as M(liveiso.customizer.liveos_iso) does, after applying C(os) and C(scripts),
        and takes the configuration's C(iso) section; the options O(volume_label), O(compression),
        O(compression_level), O(boot_modes), O(secure_boot) and O(source_date_epoch) apply to it only.
      - Defaults to the format implied by the extension of O(output) (C(.raw), C(.img), C(.qcow2), C(.vhd),
        C(.vhdx), C(.iso)), unless the configuration's C(output.image.format) names one (this option wins).
    type: str
    choices: [raw, qcow2, vhd, vhd-fixed, vhdx, iso]
  config:
    description:
      - The configuration, in the Image Customizer format (camelCase keys), with the top-level sections
        C(os), C(scripts) and (for ISO output) C(iso).
      - Mutually exclusive with O(config_file).
    type: dict
  config_file:
    description:
      - Path to a YAML file holding the configuration. Relative paths inside it resolve against its directory.
      - Mutually exclusive with O(config).
    type: path
'''

EXAMPLES = r'''
- name: Install packages, add a user and a file to a qcow2 image
  liveiso.customizer.image_customize:
    image: /srv/images/debian-12.qcow2
    output: /srv/images/debian-12-web.qcow2
    config:
      os:
        hostname: web01
        packages:
          install: [nginx]
          remove: [nano]
        users:
          - name: ops
            uid: 1500
            sshPublicKeys: ["ssh-ed25519 AAAAC3Nza... ops@example"]
            secondaryGroups: [sudo]
        additionalFiles:
          - content: "Welcome\n"
            destination: /etc/motd
            permissions: "644"
        services:
          enable: [nginx]
        kernelCommandLine:
          extraCommandLine: [console=ttyS0]
  become: true

- name: Apply a configuration file kept next to its files
  liveiso.customizer.image_customize:
    image: /srv/images/debian-12.raw
    output: /srv/images/debian-12-custom.vhdx
    config_file: /srv/configs/base.yaml
  become: true
'''

RETURN = r'''
output:
  description: Absolute path of the customized image (or Live ISO).
  returned: always
  type: str
output_format:
  description: Format of the output image.
  returned: when the output is a disk image (not with O(output_format=iso), whose result has the Live ISO keys instead)
  type: str
  sample: qcow2
input_format:
  description: Format detected for the input image.
  returned: always
  type: str
  sample: qcow2
sha256:
  description: SHA-256 of the output; V(null) with O(checksum=false).
  returned: when a build ran or the output is up to date (not in check mode when a build would happen)
  type: str
size:
  description: Size of the output file in bytes.
  returned: when a build ran or the output is up to date
  type: int
digest:
  description: Digest of all inputs (image, config, referenced files, options, collection version).
  returned: always
  type: str
steps:
  description: The steps that ran, in order, with their duration. In check mode, the steps that would run.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "copy-input", "seconds": 3.2}, {"name": "install-packages", "seconds": 41.0}]
notes:
  description: Facts about the build, such as the package manager used and what was mounted where.
  returned: when a build ran
  type: list
  elements: str
log:
  description: Path of the build log, kept when O(build_dir) is set.
  returned: when a build ran with O(build_dir)
  type: str
volume_label:
  description: The ISO's volume label.
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: str
  sample: LIVE_1A2B3C4D5E
kernel_cmdline:
  description: The kernel command line of the ISO's default boot entry.
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: str
  sample: root=live:CDLABEL=LIVE_1A2B3C4D5E rd.live.image rd.live.dir=liveos rd.live.squashimg=rootfs.img rd.live.overlay.overlayfs
boot_modes:
  description: Firmware the ISO boots on.
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: list
  elements: str
  sample: [bios, uefi]
secure_boot:
  description: Whether the UEFI path is the image's signed shim chain (boots with Secure Boot on).
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: bool
build_path:
  description:
    - C(full) (from a disk image), C(remaster) (Live ISO in, only media changes; the fast path), or
      C(rebuild-from-iso) (Live ISO in, root filesystem changes).
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: str
  sample: full
copy_method:
  description:
    - How the fast path (RV(build_path=remaster)) copied the input ISO. C(reflink) or C(copy).
    - V(null) for the other build paths.
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: str
build_seconds:
  description: Seconds the build of this ISO took (for an up-to-date ISO, those of the build that made it).
  returned: with O(output_format=iso), when a build ran or the ISO is up to date
  type: float
msg:
  description: What happened, in one line; on failure, the cause and what to do.
  returned: always
  type: str
error:
  description: The kind of error, when the module failed on its input or the host (C(ConfigError), C(ImageError),
    C(HostError), C(CommandError), C(StepError), C(ScriptError), C(BuildInterrupted)).
  returned: on failure
  type: str
  sample: ConfigError
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils.module_glue import BUILD_OPTIONS, LIVE_ISO_OPTIONS, run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type='path'),
            output=dict(type='path'),
            output_format=dict(type='str', choices=['raw', 'qcow2', 'vhd', 'vhd-fixed', 'vhdx', 'iso']),
            config=dict(type='dict'),
            config_file=dict(type='path'),
            **dict(BUILD_OPTIONS, **LIVE_ISO_OPTIONS)
        ),
        mutually_exclusive=[('config', 'config_file')],
        supports_check_mode=True,
    )
    run_module(module, module_glue.image_customize)


if __name__ == '__main__':
    main()
