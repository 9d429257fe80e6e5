# SPDX-License-Identifier: GPL-3.0-or-later
"""media.unread_seed_warning: an ISO with /cloud-init-data/* but nothing in the image that reads it (issue 16)."""

import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils._live import media

SEED = ["/cloud-init-data/meta-data", "/cloud-init-data/user-data"]


def image(tmp_path, links=(), files=()):
    root = tmp_path / "root"
    root.mkdir()
    for path, target in links:
        os.makedirs(os.path.dirname(root / path), exist_ok=True)
        os.symlink(target, root / path)
    for path, text in files:
        os.makedirs(os.path.dirname(root / path), exist_ok=True)
        (root / path).write_text(text)
    return str(root)


def test_a_seed_nothing_reads_is_warned_about(tmp_path):
    warning = media.unread_seed_warning(image(tmp_path), SEED + ["/EFI/x"], ["ds=nocloud", "console=ttyS0"])
    assert warning.startswith("cloud-init seed on the media is not read: the ISO gets /cloud-init-data/meta-data, "
                              "/cloud-init-data/user-data, but nothing in the image links /var/lib/cloud/seed/nocloud")
    assert "docs/cloud-init.md" in warning


@pytest.mark.parametrize("links,files,args", [
    ([("var/lib/cloud/seed/nocloud", "/run/initramfs/live/cloud-init-data")], [], []),  # Example 1's link
    ([("var/lib/cloud/seed/nocloud-net", "/run/live/medium/cloud-init-data/")], [], []),
    ([], [], ["ds=nocloud;s=file:///run/initramfs/live/cloud-init-data/"]),
    ([], [("etc/cloud/cloud.cfg.d/90-seed.cfg",
           "datasource:\n  NoCloud:\n    seedfrom: file:///run/initramfs/live/cloud-init-data/\n")], []),
    ([], [("etc/systemd/system/liveiso-seed-select.service",
           "[Unit]\nConditionPathIsDirectory=/run/initramfs/live/cloud-init-data\n")], []),  # the site selector
    ([], [("usr/local/sbin/link-seed", "#!/bin/sh\nln -s $medium/cloud-init-data /var/lib/cloud/seed/nocloud\n")], []),
])
def test_a_seed_something_reads_is_not_warned_about(tmp_path, links, files, args):
    assert media.unread_seed_warning(image(tmp_path, links, files), SEED, args) is None


def test_no_seed_on_the_media_no_warning(tmp_path):
    assert media.unread_seed_warning(image(tmp_path), ["/liveos/rootfs.img", "/seed/user-data"], []) is None


def test_links_pointing_elsewhere_and_host_files_do_not_count(tmp_path):
    host = tmp_path / "host-unit"
    host.write_text("cloud-init-data")
    root = image(tmp_path, links=[("var/lib/cloud/seed/nocloud", "/srv/other-seed"),
                                  ("etc/systemd/system/x.service", str(host))])  # absolute: the host's file
    assert media.unread_seed_warning(root, SEED, ["ds=nocloud"]) is not None


class Module:
    def __init__(self):
        self.params, self.check_mode, self.no_log_values, self._diff = {}, False, set(), False
        self.warnings, self.result = [], None

    def warn(self, warning):
        self.warnings.append(warning)

    def exit_json(self, **kwargs):
        self.result = kwargs

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_module_glue_turns_the_note_into_a_module_warning(tmp_path):
    note = media.unread_seed_warning(image(tmp_path), SEED, [])
    module = Module()
    module_glue.run_module(module, lambda _m: {"changed": True, "notes": ["mounted: x", note]})
    assert module.warnings == [note] and module.result["notes"][1] == note
