# SPDX-License-Identifier: GPL-3.0-or-later
"""base_configs.py: hierarchical configs, merged as the reference's baseConfig.md says."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

FEATURE = "previewFeatures: [base-configs]\n"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_merge_rules(tmp_path):
    _write(tmp_path / "base" / "files" / "a.txt", "a\n")
    _write(tmp_path / "files" / "b.txt", "b\n")
    _write(tmp_path / "base" / "base.yaml", """
input: {image: {path: in.qcow2}}
output: {image: {path: out.vhdx, format: vhdx}}
os:
  hostname: base-host
  users: [{name: one}]
  groups: [{name: g1}]
  services: {enable: [a]}
  packages: {install: [p1]}
  additionalFiles: [{source: files/a.txt, destination: /a}]
  kernelCommandLine: {extraCommandLine: [rd.info]}
scripts:
  postCustomization: [{content: "echo base"}]
""")
    top = _write(tmp_path / "top.yaml", FEATURE + """
baseConfigs: [{path: base/base.yaml}]
os:
  hostname: top-host
  users: [{name: two}]
  services: {enable: [b]}
  packages: {install: [p2]}
  additionalFiles: {files/b.txt: /b}
  kernelCommandLine: {extraCommandLine: [quiet]}
scripts:
  postCustomization: [{content: "echo top"}]
""")
    config = load_config(config_file=top)
    assert config.os.hostname == "top-host"  # the current file's value overrides
    assert [u.name for u in config.os.users] == ["one", "two"]  # bases first
    assert [g.name for g in config.os.groups] == ["g1"]
    assert config.os.services_enable == ("a", "b")
    assert config.os.packages.install == ("p1", "p2")
    assert config.os.kernel_extra_args == ("rd.info", "quiet")
    # each file's relative paths against its own directory
    assert [f.source for f in config.os.additional_files] == [str(tmp_path / "base" / "files" / "a.txt"),
                                                              str(tmp_path / "files" / "b.txt")]
    assert [s.content for s in config.scripts.post_customization] == ["echo base", "echo top"]
    assert config.io.input_image == str(tmp_path / "base" / "in.qcow2")
    assert config.io.output_image == str(tmp_path / "base" / "out.vhdx") and config.io.output_format == "vhdx"


def test_nested_chain_order(tmp_path):
    _write(tmp_path / "a.yaml", "os: {users: [{name: a}]}\n")
    _write(tmp_path / "b.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\nos: {users: [{name: b}]}\n")
    _write(tmp_path / "c.yaml", "os: {users: [{name: c}]}\n")
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: b.yaml}, {path: c.yaml}]\n"
                 "os: {users: [{name: top}]}\n")
    assert [u.name for u in load_config(config_file=top).os.users] == ["a", "b", "c", "top"]


def test_loop_detected(tmp_path):
    _write(tmp_path / "a.yaml", FEATURE + "baseConfigs: [{path: b.yaml}]\n")
    _write(tmp_path / "b.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\n")
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\n")
    with pytest.raises(ConfigError, match="cycle detected in baseConfigs"):
        load_config(config_file=top)


def test_same_base_twice_refused_as_the_reference(tmp_path):
    _write(tmp_path / "a.yaml", "os: {hostname: a}\n")
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: a.yaml}, {path: ./a.yaml}]\n")
    with pytest.raises(ConfigError, match="cycle detected"):
        load_config(config_file=top)


def test_each_file_needs_its_own_features(tmp_path):
    _write(tmp_path / "a.yaml", "baseConfigs: []\n")
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(config_file=top)
    assert "'base-configs' preview feature must be enabled" in str(info.value)
    assert "a.yaml" in str(info.value)


def test_without_feature(tmp_path):
    top = _write(tmp_path / "top.yaml", "baseConfigs: [{path: a.yaml}]\n")
    with pytest.raises(ConfigError, match="the 'base-configs' preview feature must be enabled to use 'baseConfigs'"):
        load_config(config_file=top)


def test_missing_base_and_empty_path(tmp_path):
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: nope.yaml}]\n")
    with pytest.raises(ConfigError, match=r"failed to load base config \(.*nope.yaml\)"):
        load_config(config_file=top)
    top = _write(tmp_path / "top2.yaml", FEATURE + "baseConfigs: [{path: ' '}]\n")
    with pytest.raises(ConfigError, match="path must not be empty or whitespace"):
        load_config(config_file=top)


def test_storage_in_one_file_only(tmp_path):
    storage = "storage: {resetPartitionsUuidsType: reset-all}\n"
    _write(tmp_path / "a.yaml", storage)
    top = _write(tmp_path / "top.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\n" + storage)
    with pytest.raises(ConfigError, match="storage may only be specified in one config file"):
        load_config(config_file=top)
    top = _write(tmp_path / "top2.yaml", FEATURE + "baseConfigs: [{path: a.yaml}]\n")
    with pytest.raises(ConfigError, match="'storage.resetPartitionsUuidsType' is specified"):
        load_config(config_file=top)  # the base's storage is merged in (and needs os.bootloader.resetType)


def test_strongest_reset_type():
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.base_configs import _merge_into
    merged = {}
    _merge_into(merged, {"os": {"bootloader": {"resetType": "hard-reset"}}})
    _merge_into(merged, {"os": {"bootloader": {"resetType": ""}}})
    assert merged["os"]["bootloader"]["resetType"] == "hard-reset"


def test_module_option_config_with_bases(tmp_path):
    _write(tmp_path / "a.yaml", "os: {hostname: from-base}\n")
    config = load_config({"previewFeatures": ["base-configs"], "baseConfigs": [{"path": "a.yaml"}]},
                         config_dir=str(tmp_path))
    assert config.os.hostname == "from-base"
    with pytest.raises(ConfigError, match="needs a base directory"):
        load_config({"previewFeatures": ["base-configs"], "baseConfigs": [{"path": "a.yaml"}]})
