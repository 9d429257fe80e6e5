# SPDX-License-Identifier: GPL-3.0-or-later
"""preview.py: previewFeatures validated against the reference's list; gated keys refused without their feature."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import preview
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError


def test_known_features_accepted():
    assert parse_config({"previewFeatures": list(preview.FEATURES)}).preview_features == preview.FEATURES


def test_unknown_feature():
    with pytest.raises(ConfigError) as info:
        parse_config({"previewFeatures": ["uki", "nope"]})
    assert str(info.value).startswith("config.previewFeatures[1]: invalid preview feature: nope")
    assert "base-configs" in info.value.hint


@pytest.mark.parametrize("data,feature,key", [
    ({"iso": {"kdumpBootFiles": "none"}}, "kdump-boot-files", "iso.kdumpBootFiles"),
    ({"pxe": {"kdumpBootFiles": "keep"}}, "kdump-boot-files", "pxe.kdumpBootFiles"),
    ({"os": {"uki": {"mode": "create"}}}, "uki", "os.uki"),
    ({"os": {"packages": {"snapshotTime": "2025-01-01"}}}, "package-snapshot-time", "os.packages.snapshotTime"),
    ({"os": {"packages": {"removePackageManager": True}}}, "remove-package-manager",
     "os.packages.removePackageManager"),
    ({"output": {"artifacts": {"items": ["ukis"], "path": "/a"}}}, "output-artifacts", "output.artifacts"),
    ({"output": {"selinuxPolicyPath": "/p"}}, "output-selinux-policy", "output.selinuxPolicyPath"),
    ({"storage": {"verity": [{"hashSignaturePath": "/boot/x.sig"}]}}, "output-artifacts", "verity.hashSignaturePath"),
    ({"storage": {"reinitializeVerity": "all"}}, "reinitialize-verity", "storage.reinitializeVerity"),
    ({"baseConfigs": []}, "base-configs", "baseConfigs"),
    ({"input": {"image": {"oci": {"uri": "x"}}}}, "input-image-oci", "input.image.oci"),
    ({"storage": {"filesystems": [{"deviceId": "a", "type": "btrfs"}]}}, "btrfs", "btrfs filesystems"),
])
def test_gated_key_names_its_feature(data, feature, key):
    with pytest.raises(ConfigError) as info:
        preview.check(data)
    assert str(info.value).startswith(
        "config.previewFeatures: the '%s' preview feature must be enabled to use '%s'" % (feature, key))
    assert feature in info.value.hint
    preview.check(dict(data, previewFeatures=[feature]))  # with the feature: no refusal from the gate


def test_empty_snapshot_time_is_unset():
    preview.check({"os": {"packages": {"snapshotTime": ""}}})
