# SPDX-License-Identifier: GPL-3.0-or-later
"""yaml12.py: YAML read as the reference (gopkg.in/yaml.v3) reads it, and the model's string/bool fields."""

import math

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import yaml12
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config, load_yaml, parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError


@pytest.mark.parametrize("text,value,kind", [
    ("12:30", "12:30", str),  # YAML 1.1 would read 750
    ("yes", "yes", str), ("on", "on", str), ("No", "No", str), ("y", "y", str),
    ("2025-09-18", "2025-09-18", str),  # no timestamp type
    ("true", True, yaml12.TextBool), ("False", False, yaml12.TextBool),
    ("5", 5, yaml12.TextInt), ("0644", 0o644, yaml12.TextInt), ("0o17", 15, yaml12.TextInt),
    ("0x1F", 31, yaml12.TextInt), ("-3", -3, yaml12.TextInt), ("1_000", 1000, yaml12.TextInt),
    ("1.10", 1.1, yaml12.TextFloat), ("1e3", 1000.0, yaml12.TextFloat), ("09", 9.0, yaml12.TextFloat),
    ("~", None, type(None)), ("null", None, type(None)), ("", None, type(None)),
    ("'12:30'", "12:30", str), ('"0644"', "0644", str),
])
def test_core_schema(text, value, kind):
    got = load_yaml("k: %s\n" % text)["k"]
    assert type(got) is kind  # pylint: disable=unidiomatic-typecheck
    assert got == value


def test_scalars_keep_their_text():
    data = load_yaml("a: 0644\nb: 1.10\nc: TRUE\nd: .inf\n")
    assert [str(data[k]) for k in "abcd"] == ["0644", "1.10", "TRUE", ".inf"]
    assert math.isinf(data["d"])
    assert yaml12.source_text(data["a"]) == "0644" and yaml12.source_text("x") is None
    assert yaml12.is_bool(data["c"]) and yaml12.is_bool(True) and not yaml12.is_bool(1)
    assert repr(data["c"]) == "True"


def test_string_fields_take_the_text_written():
    config = parse_config(load_yaml("os:\n  hostname: 1230\n  kernelCommandLine:\n    extraCommandLine: [12:30, on]\n"))
    assert config.os.hostname == "1230"
    assert config.os.kernel_extra_args == ("12:30", "on")


def test_bool_fields_take_yes_no_on_off():
    assert parse_config(load_yaml("os:\n  packages:\n    updateExistingPackages: yes\n")).os.packages.update_existing
    assert not parse_config({"os": {"packages": {"updateExistingPackages": "off"}}}).os.packages.update_existing
    assert parse_config(load_yaml("os:\n  packages:\n    updateExistingPackages: TRUE\n")).os.packages.update_existing


def test_integer_fields():
    config = parse_config(load_yaml("os:\n  groups:\n  - name: g\n    gid: 01500\n"))
    assert config.os.groups[0].gid == 0o1500  # yaml.v3 reads 01500 as octal, so does this loader
    with pytest.raises(ConfigError, match="gid: must be an integer, got a boolean"):
        parse_config(load_yaml("os:\n  groups:\n  - name: g\n    gid: true\n"))


def test_permissions_from_their_text():
    for text in ("644", "0644", "'644'", "'0644'"):
        config = parse_config(load_yaml("os:\n  additionalFiles:\n  - content: x\n    destination: /a\n"
                                        "    permissions: %s\n" % text))
        assert config.os.additional_files[0].permissions == 0o644


def test_module_option_values():
    """A config from Ansible (already YAML 1.1): numbers are their text, booleans refused with a hint."""
    assert parse_config({"os": {"hostname": 750}}).os.hostname == "750"
    with pytest.raises(ConfigError) as info:
        parse_config({"os": {"hostname": True}})
    assert "got a boolean" in str(info.value) and "Quote" in info.value.hint


def test_config_file_reads_yaml12(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("os:\n  kernelCommandLine:\n    extraCommandLine:\n    - x=12:30\n    - 12:30\n")
    assert load_config(config_file=str(path)).os.kernel_extra_args == ("x=12:30", "12:30")


def test_bad_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("os: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(config_file=str(path))


@pytest.mark.parametrize("text", ["0644", "1.50", "yes", "12_000"])
def test_scalars_keep_their_text_through_copy_and_pickle(text):
    """A config is deep-copied on its way through the build: each scalar keeps its type, value and text."""
    import copy
    import pickle
    value = yaml12.load("v: %s\n" % text)["v"]
    for twin in (copy.deepcopy(value), pickle.loads(pickle.dumps(value))):
        assert type(twin) is type(value) and twin == value and str(twin) == text
