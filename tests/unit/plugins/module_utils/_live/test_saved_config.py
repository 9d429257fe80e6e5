# SPDX-License-Identifier: GPL-3.0-or-later
"""The typed, versioned models of what a build persists: the ISO's saved config (the stamp: test_digest.py)."""

import json

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._live.saved_config import SavedConfig

FULL = {"format": 1, "generator": "liveiso.customizer 0.1.0", "boot_id": "0123456789abcdef",
        "volume_label": "SITE_A", "kernel_version": "6.1.0-13-amd64", "image_args": ["console=ttyS0"],
        "extra_args": ["ds=nocloud"], "additional_files": {"/cloud-init-data/user-data": "ab" * 32},
        "boot_modes": ["bios", "uefi"], "secure_boot": True, "compression": "zstd", "compression_level": 3}


def test_round_trip_is_the_json_of_0_1_0():
    saved = SavedConfig.from_json(json.loads(json.dumps(FULL)))
    assert saved.to_json() == FULL
    assert SavedConfig.from_json(saved.to_json()) == saved


def test_older_files_with_fewer_keys_read_with_defaults():
    saved = SavedConfig.from_json({"boot_id": "x"})
    assert (saved.boot_id, saved.extra_args, saved.additional_files, saved.secure_boot) == ("x", [], {}, False)
    assert SavedConfig.from_json({"image_args": None}).image_args == []


@pytest.mark.parametrize("data, field", [
    ({"format": 2}, "format 2"),
    ([], "not a mapping"),
    ({"extra_args": "ds=nocloud"}, "extra_args must be a list of strings"),
    ({"extra_args": [1]}, "extra_args must be a list of strings"),
    ({"additional_files": {"../etc/passwd": "00"}}, "invalid media path"),
    ({"additional_files": {"/a/../../b": "00"}}, "invalid media path"),
    ({"additional_files": {"/a": 1}}, "must be a sha256"),
    ({"additional_files": ["/a"]}, "additional_files must be a mapping"),
    ({"compression_level": "3"}, "compression_level must be a int"),
    ({"compression_level": True}, "compression_level must be a int"),
    ({"boot_id": 7}, "boot_id must be a str"),
])
def test_what_this_version_cannot_read_is_refused(data, field):
    with pytest.raises(ValueError, match=field):
        SavedConfig.from_json(data)
    with pytest.raises(ImageError) as info:
        SavedConfig.parse(data, "/srv/site.iso", "/liveiso/config.json")
    assert "/srv/site.iso carries an unreadable /liveiso/config.json" in str(info.value)
    assert "Rebuild it from its disk image" in str(info.value)
