#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

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
extends_documentation_fragment:
  - liveiso.customizer.build
  - liveiso.customizer.build.ATTRIBUTES
  - liveiso.customizer.live_iso
options:
  image:
    description:
      - Input disk image (raw, qcow2, vhd, vhdx), or a Live ISO when O(output_format=iso). Its format is
        detected from its content.
      - Never modified.
    type: path
    required: true
  output:
    description:
      - Path of the customized image to write. Must differ from O(image).
    type: path
    required: true
  output_format:
    description:
      - Format of O(output). C(vhd) is a dynamic VHD, C(vhd-fixed) a fixed one.
      - C(iso) builds a Live OS ISO as M(liveiso.customizer.liveos_iso) does, after applying C(os) and C(scripts),
        and takes the configuration's C(iso) section; the options O(volume_label), O(compression),
        O(compression_level), O(boot_modes), O(secure_boot) and O(source_date_epoch) apply to it only.
      - Defaults to the format implied by the extension of O(output) (C(.raw), C(.img), C(.qcow2), C(.vhd),
        C(.vhdx), C(.iso)).
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
  description: Absolute path of the customized image.
  returned: always
  type: str
output_format:
  description: Format of the output image.
  returned: always
  type: str
  sample: qcow2
input_format:
  description: Format detected for the input image.
  returned: always
  type: str
sha256:
  description: SHA-256 of the output image; V(null) with O(checksum=false).
  returned: when the output exists (not in check mode when a build would happen)
  type: str
size:
  description: Size of the output image file in bytes.
  returned: when the output exists
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
msg:
  description: What happened, in one line.
  returned: always
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils.module_glue import BUILD_OPTIONS, LIVE_ISO_OPTIONS, run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            image=dict(type='path', required=True),
            output=dict(type='path', required=True),
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
