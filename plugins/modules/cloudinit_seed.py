#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cloudinit_seed
short_description: Render and validate a cloud-init NoCloud seed and say how to place it
version_added: 0.1.0
description:
  - Writes a NoCloud seed (C(meta-data), C(user-data), C(network-config), C(vendor-data)) into O(dest).
  - A dict is serialised to YAML (user-data gets the C(#cloud-config) header); a string is taken as it is
    (a cloud-config, a shell script, MIME multipart).
  - Validates before writing, offline - YAML parses, user-data is a known format, network-config is version 1
    or 2 with a known structure, meta-data has an instance-id. With O(validate_with_image) it also runs that
    image's own C(cloud-init schema) in a chroot, so the check uses the cloud-init version that will read it.
  - Returns the configuration fragment that places the seed on the ISO media (O(placement=iso), the first
    example of the Image Customizer's ISO documentation) or in the root filesystem (O(placement=rootfs)), ready
    to merge into an M(liveiso.customizer.image_customize) or M(liveiso.customizer.liveos_iso) configuration.
  - Password hashes and keys in user-data are never shown in results, diffs or errors unless
    O(show_secrets=true).
  - Files are written atomically (a temp file in O(dest), synced, renamed over the old one, as Ansible's
    C(atomic_move) does) with mode O(mode) (user-data, vendor-data) or O(public_mode) (meta-data,
    network-config).
author:
  - liveiso.customizer contributors (@liveiso)
requirements:
  - Python 3 with PyYAML on the managed host (tested with Python 3.11, Debian 12).
  - "With O(validate_with_image): root on the managed host (C(become)) and the host tools that read the image:
    C(qemu-img) (qemu-utils), C(sfdisk) (fdisk), C(losetup), C(blkid), C(mount), C(umount) (util-linux, mount),
    C(chroot) (coreutils), C(xorriso) for a Live ISO; and C(cloud-init) in the image."
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Renders and validates, reports what would change, writes nothing.
  diff_mode:
    support: full
    details: Shows each file's change; user-data and vendor-data only as summaries unless O(show_secrets=true).
  platform:
    support: full
    platforms: posix
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
    details: A file is written only if its content differs, and its mode and ownership restored only if they
      differ from O(mode), O(public_mode), O(owner), O(group); a file no longer rendered is removed.
options:
  dest:
    description: Directory to write the seed files into. Created if missing.
    type: path
    required: true
  meta_data:
    description: meta-data as a dict or YAML text. C(instance-id) is added when missing (see O(instance_id)).
    type: raw
  user_data:
    description: user-data as a dict (a cloud-config) or a string.
    type: raw
  network_config:
    description: network-config (version 1 or 2) as a dict or YAML text. Left out when not given.
    type: raw
  vendor_data:
    description: vendor-data as a dict (a cloud-config) or a string. Left out when not given.
    type: raw
  instance_id:
    description:
      - The seed's instance-id. Defaults to the one in O(meta_data), else to C(iid-) and 16 hex digits derived
        from O(host) and the seed's content, so it changes (and cloud-init re-runs its first boot) exactly
        when the seed changes.
    type: str
  host:
    description: Name mixed into the default instance-id (for example C(inventory_hostname)).
    type: str
  placement:
    description:
      - C(iso) returns the fragment that copies the files onto the media under C(/cloud-init-data), links
        C(/var/lib/cloud/seed/nocloud) to them in a postCustomization script and adds C(ds=nocloud).
      - C(rootfs) returns the fragment that copies them to C(/var/lib/cloud/seed/nocloud) in the image.
    type: str
    choices: [iso, rootfs]
    default: iso
  live_medium_path:
    description:
      - Where the booted live system sees the medium, for the symlink of O(placement=iso).
        C(/run/initramfs/live) with dracut, C(/run/live/medium) with Debian's live-boot.
      - Defaults to what O(validate_with_image) shows the image uses, else C(/run/initramfs/live).
    type: str
  validate_with_image:
    description: A disk image or Live ISO whose own cloud-init validates the seed (needs root).
    type: path
  show_secrets:
    description: Show user-data and vendor-data in diffs. Off by default; they often carry password hashes.
    type: bool
    default: false
  mode:
    description:
      - The mode of C(user-data) and C(vendor-data), which may carry password hashes and keys.
      - An octal string (C('0600'), C('640')) or a number YAML already read as octal (C(0600) unquoted). Modes
        with bits above C(0777) are refused (an unquoted C(600) is the decimal number 600).
      - A rerun restores it when somebody changed it (and reports C(changed)).
    type: raw
    default: '0600'
  public_mode:
    description:
      - The mode of C(meta-data) and C(network-config) (an instance-id, a host name, addresses), like O(mode).
      - A C(network-config) with Wi-Fi passwords deserves C('0600') here.
    type: raw
    default: '0644'
  owner:
    description:
      - The user (name or uid) that owns the seed files; changing it needs root.
      - Not managed when not given - new files then belong to the user the module runs as.
    type: str
  group:
    description: The group (name or gid) of the seed files, like O(owner).
    type: str
'''

EXAMPLES = r'''
- name: Seed for one site, validated with the image's own cloud-init
  liveiso.customizer.cloudinit_seed:
    dest: /srv/seeds/site-a
    host: site-a
    meta_data:
      local-hostname: edge-a1
    user_data:
      users:
        - name: ops
          ssh_authorized_keys: ["ssh-ed25519 AAAA... ops@example"]
          sudo: ALL=(ALL) NOPASSWD:ALL
    network_config:
      version: 2
      ethernets:
        uplink:
          match: {macaddress: "52:54:00:12:34:56"}
          addresses: [192.0.2.10/24]
          routes: [{to: default, via: 192.0.2.1}]
    validate_with_image: /srv/images/debian-12.qcow2
  register: seed
  become: true

- name: Build the site ISO from the base ISO with the returned fragment
  liveiso.customizer.liveos_iso:
    image: /srv/iso/base.iso
    output: /srv/iso/site-a.iso
    iso: "{{ seed.config.iso }}"
  become: true
'''

RETURN = r'''
files:
  description: Paths of the seed files, by file name.
  returned: always
  type: dict
  sample: {"meta-data": "/srv/seeds/site-a/meta-data", "user-data": "/srv/seeds/site-a/user-data"}
changed_files:
  description: Names of the files that were (or in check mode would be) written, removed, or given back their
    mode and ownership.
  returned: always
  type: list
  elements: str
  sample: [user-data]
instance_id:
  description: The seed's instance-id.
  returned: always
  type: str
  sample: iid-0123456789abcdef
config:
  description: The configuration fragment (Image Customizer format) that places this seed.
  returned: always
  type: dict
live_medium_path:
  description: The medium path used in the fragment's symlink.
  returned: always
  type: str
  sample: /run/initramfs/live
modes:
  description: The octal mode of each seed file, by file name (see O(mode) and O(public_mode)).
  returned: always
  type: dict
  sample: {"meta-data": "0644", "user-data": "0600"}
notes:
  description: What the validation checked, and with which cloud-init version.
  returned: always
  type: list
  elements: str
diff:
  description:
    - One entry per changed file, with C(before_header), C(after_header), C(before) and C(after); user-data and
      vendor-data as summaries unless O(show_secrets=true).
  returned: in diff mode (C(--diff))
  type: list
  elements: dict
msg:
  description: The cause of the failure and what to do.
  returned: on failure
  type: str
error:
  description: The kind of error, when the module failed on its input or the host (C(SeedError), C(ConfigError),
    C(ImageError), C(HostError), C(CommandError)).
  returned: on failure
  type: str
  sample: SeedError
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils.module_glue import run_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            meta_data=dict(type='raw'),
            user_data=dict(type='raw'),
            network_config=dict(type='raw'),
            vendor_data=dict(type='raw'),
            instance_id=dict(type='str'),
            host=dict(type='str'),
            placement=dict(type='str', choices=['iso', 'rootfs'], default='iso'),
            live_medium_path=dict(type='str'),
            validate_with_image=dict(type='path'),
            show_secrets=dict(type='bool', default=False),
            mode=dict(type='raw', default='0600'),
            public_mode=dict(type='raw', default='0644'),
            owner=dict(type='str'),
            group=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    run_module(module, module_glue.cloudinit_seed)


if __name__ == '__main__':
    main()
