# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Options every image-building module shares.
    DOCUMENTATION = r'''
options:
  config_dir:
    description:
      - Base directory for relative C(source) and C(path) entries in the configuration.
      - Defaults to the directory of the configuration file when one is given. Otherwise a relative path in the
        configuration is an error.
    type: path
  build_dir:
    description:
      - Directory for the build's work files (the raw work copy, mount points, the build log).
      - A fresh subdirectory is created inside it for each build and removed afterwards; the build log
        C(<output name>.build.log) is kept here.
      - Defaults to a fresh temporary directory next to O(output), so that the output is renamed into place
        atomically. It needs free space of about the input's virtual size.
    type: path
  force:
    description:
      - Rebuild even if the output is up to date with all inputs.
    type: bool
    default: false
  checksum:
    description:
      - Compute the output's SHA-256 (returned as RV(sha256) and kept in the stamp).
      - Hashing reads every byte of the output once, about 0.8 s per GiB on a 2-core build host. The per-site
        fast path of C(liveos_iso) hashes while it copies, but for a base ISO on a filesystem with reflinks
        the hash is most of a site's time, and grows with the base; V(false) makes a site's cost independent
        of the base size. RV(sha256) is then V(null).
      - Not part of the build's digest, as it does not change the output. A later run with V(true) on an
        up-to-date output hashes it then and reports no change.
    type: bool
    default: true
notes:
  - Runs as root on the managed host (use C(become)). Needs loop devices and the host tools listed in the
    collection's C(bindep.txt); on Debian, C(apt-get install) the packages marked C(platform:dpkg).
  - The input image is never modified. The output appears atomically, with a stamp C(<output>.liveiso.json)
    beside it recording the digest of all inputs; a rerun with the same inputs reports no change
    without rebuilding.
'''

    # Ansible "attributes" of the image-building modules, with ansible.builtin.action_common_attributes (which
    # describes check_mode, diff_mode and platform in general terms).
    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
    details: Validates the configuration and reports whether a build would happen; writes nothing.
  diff_mode:
    support: none
    details: Images are binary; the result lists the steps that ran instead of a diff.
  platform:
    support: full
    platforms: posix
    details: Linux build hosts (loop devices, mounts, chroot); images of x86_64 Linux.
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
    details: A digest of all inputs is recorded beside the output; unchanged inputs mean no rebuild.
'''
