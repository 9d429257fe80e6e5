# SPDX-License-Identifier: GPL-3.0-or-later
"""cloudinit_seed.py: rendering, offline validation, secrets, idempotent writing and placement of NoCloud seeds."""

import grp
import hashlib
import os
import pwd
import re
import stat

import pytest
import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import make, seed
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.schema import (
    LINE_RE,
    NetworkRenderer,
    live_medium,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import SeedError, render_seed
from ansible_collections.liveiso.customizer.plugins.module_utils._config import model as config_mod
from ansible_collections.liveiso.customizer.plugins.module_utils._core import secrets
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._image import chroot as chroot_mod

IID_RE = re.compile(r"^iid-[0-9a-f]{16}$")
HINT = ". Start it with #cloud-config, a #! script line, or give MIME multipart."
V1_TYPES = "physical, bond, bridge, vlan, nameserver, route, infiniband, loopback"
V2_HINT = ". Known: ethernets, bonds, bridges, vlans, wifis, tunnels, vrfs, renderer, version."
MIME = (
    'Content-Type: multipart/mixed; boundary="==BOUNDARY=="\n'
    "MIME-Version: 1.0\n"
    "\n"
    "--==BOUNDARY==\n"
    'Content-Type: text/cloud-config; charset="us-ascii"\n'
    "\n"
    "#cloud-config\n"
    "hostname: mime-host\n"
    "--==BOUNDARY==\n"
    'Content-Type: text/x-shellscript; charset="us-ascii"\n'
    "\n"
    "#!/bin/sh\n"
    "echo from-mime\n"
    "--==BOUNDARY==--\n"
)
NET_V2 = {"version": 2, "ethernets": {"uplink": {"match": {"macaddress": "52:54:00:12:34:56"},
                                                 "addresses": ["192.0.2.10/24"]}}}


@pytest.fixture(autouse=True)
def isolated_secrets():
    """Each test sees only the secrets it registers; the global set is restored afterwards."""
    saved = set(secrets._SECRETS)
    secrets._SECRETS.clear()
    yield secrets._SECRETS
    secrets._SECRETS.clear()
    secrets._SECRETS.update(saved)


def meta_of(files):
    return yaml.safe_load(files["meta-data"])


# ---------------------------------------------------------------- rendering

def test_dict_user_data_gets_header_and_round_trips():
    shared = ["a", "b"]
    user_data = {
        "hostname": "edge-1",
        "users": [{"name": "ops", "groups": shared, "shell": "/bin/bash"}],
        "runcmd": [["sh", "-c", "echo 'x: y'"], "echo done"],
        "write_files": [{"path": "/etc/motd", "content": "line one\nline two\n", "permissions": "0644"}],
        "other_groups": shared,
        "flags": {"yes_string": "yes", "on": True, "script": "#!/bin/sh", "unicode": "gr\u00fc\u00df"},
    }
    files = render_seed(user_data=user_data)
    text = files["user-data"]
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text) == user_data
    assert "&id" not in text and "*id" not in text  # no YAML aliases for shared objects
    assert "gr\u00fc\u00df" in text  # allow_unicode: readable, not escaped
    assert set(files) == {"meta-data", "user-data"}


def test_dict_user_data_keeps_key_order_in_block_style():
    files = render_seed(user_data={"zeta": 1, "alpha": {"nested": [1, 2]}})
    assert files["user-data"] == "#cloud-config\nzeta: 1\nalpha:\n  nested:\n  - 1\n  - 2\n"


@pytest.mark.parametrize("text", [
    "#!/bin/sh\necho 'hello: world'\n  odd indentation: [ is fine in a script\n",
    MIME,
    "#include\nhttps://example.com/one.yaml\nhttps://example.com/two.yaml\n",
    "#cloud-boothook\n#!/bin/sh\necho boot\n",
    "## template: jinja\n#cloud-config\nhostname: {{ v1.instance_id }}\n",
    "#cloud-config\n# comment kept\nhostname:   spaced   \npackages: [curl,  jq]\n",
    "  #Cloud-Config\nhostname: indented\n",
    "#cloud-config",
], ids=["script", "mime", "include", "boothook", "jinja", "cloud-config-text", "indented-any-case", "header-only"])
def test_string_user_data_is_taken_byte_for_byte(text):
    files = render_seed(user_data=text)
    assert files["user-data"] == text


def test_missing_user_data_becomes_empty_cloud_config():
    files = render_seed(meta_data={"instance-id": "i-1"})
    assert files == {"user-data": "#cloud-config\n{}\n", "meta-data": "instance-id: i-1\n"}


def test_network_config_omitted_when_not_given_and_rendered_when_given():
    assert "network-config" not in render_seed(user_data={"a": 1})
    files = render_seed(network_config=NET_V2)
    assert yaml.safe_load(files["network-config"]) == NET_V2
    assert files["network-config"].startswith("version: 2\nethernets:\n")
    text = "version: 1\nconfig:\n  - type: physical\n    name: eth0\n"
    assert render_seed(network_config=text)["network-config"] == text


def test_meta_data_dict_and_yaml_string_forms():
    files = render_seed(meta_data={"local-hostname": "edge-1", "instance-id": "i-dict"})
    assert files["meta-data"] == "local-hostname: edge-1\ninstance-id: i-dict\n"
    files = render_seed(meta_data="local-hostname: edge-2\n")
    assert meta_of(files)["local-hostname"] == "edge-2"
    assert IID_RE.match(meta_of(files)["instance-id"])
    assert files["meta-data"] == "local-hostname: edge-2\ninstance-id: %s\n" % meta_of(files)["instance-id"]
    files = render_seed(meta_data="")
    assert list(meta_of(files)) == ["instance-id"]


def test_explicit_instance_id_wins():
    assert meta_of(render_seed(instance_id="i-explicit"))["instance-id"] == "i-explicit"
    files = render_seed(meta_data={"instance-id": "i-meta", "local-hostname": "h"}, instance_id="i-explicit")
    assert files["meta-data"] == "instance-id: i-explicit\nlocal-hostname: h\n"
    files = render_seed(meta_data="instance-id: i-meta  # comment\nlocal-hostname: h\n", instance_id="i-explicit")
    assert files["meta-data"] == "instance-id: i-explicit\nlocal-hostname: h\n"


def test_instance_id_in_meta_data_is_kept():
    files = render_seed(meta_data={"instance-id": "i-kept"}, user_data={"a": 1}, host="h1")
    assert meta_of(files)["instance-id"] == "i-kept"
    text = "# site A\nlocal-hostname:   edge-a\ninstance-id:    'i-quoted'   # keep\n"
    files = render_seed(meta_data=text, host="h1")
    assert files["meta-data"] == text


def test_stable_instance_id_matches_the_documented_digest():
    files = render_seed(meta_data={"local-hostname": "x"}, user_data={"a": 1}, host="site-a")
    digest = hashlib.sha256(b"site-a")
    digest.update(b"\0meta-data\0local-hostname: x\n")
    digest.update(b"\0user-data\0#cloud-config\na: 1\n")
    assert meta_of(files)["instance-id"] == "iid-" + digest.hexdigest()[:16]
    assert files["meta-data"] == "local-hostname: x\ninstance-id: iid-%s\n" % digest.hexdigest()[:16]


BASE = dict(meta_data={"local-hostname": "edge"}, user_data={"hostname": "edge"}, network_config=NET_V2,
            vendor_data={"packages": ["curl"]}, host="site-a")


def iid(**changes):
    return meta_of(render_seed(**dict(BASE, **changes)))["instance-id"]


def test_stable_instance_id_is_stable():
    first = iid()
    assert IID_RE.match(first)
    assert iid() == first
    assert iid(meta_data={"local-hostname": "edge"}, user_data={"hostname": "edge"}) == first


@pytest.mark.parametrize("changes", [
    {"host": "site-b"},
    {"host": None},
    {"meta_data": {"local-hostname": "edge2"}},
    {"user_data": {"hostname": "edge2"}},
    {"user_data": None},
    {"network_config": {"version": 2, "ethernets": {"eth1": {"dhcp4": True}}}},
    {"network_config": None},
    {"vendor_data": {"packages": ["jq"]}},
    {"vendor_data": None},
], ids=["host", "no-host", "meta-data", "user-data", "no-user-data", "network-config", "no-network-config",
        "vendor-data", "no-vendor-data"])
def test_stable_instance_id_changes_with_host_or_content(changes):
    assert IID_RE.match(iid(**changes))
    assert iid(**changes) != iid()


def test_stable_instance_id_same_for_identical_written_content():
    omitted = render_seed(host="h")
    explicit = render_seed(user_data={}, host="h")
    assert omitted["user-data"] == explicit["user-data"]
    assert omitted == explicit


def test_vendor_data_rendered_like_user_data():
    files = render_seed(vendor_data={"packages": ["curl"]})
    assert files["vendor-data"] == "#cloud-config\npackages:\n- curl\n"
    assert render_seed(vendor_data="#!/bin/sh\nexit 0\n")["vendor-data"] == "#!/bin/sh\nexit 0\n"
    assert "vendor-data" not in render_seed()


def test_vendor_data_error_names_vendor_data():
    with pytest.raises(SeedError) as info:
        render_seed(vendor_data="plain words\n")
    assert info.value.file == "vendor-data"
    assert info.value.line == 1
    assert str(info.value).startswith("vendor-data: line 1: ")


# ---------------------------------------------------------------- validation errors

ERROR_CASES = [
    pytest.param(dict(user_data="#cloud-config\nusers:\n  - name: a\n bad: [\n"), "user-data", 4,
                 "user-data: line 4: not valid YAML: expected <block end>, but found '<block mapping start>'",
                 id="user-data-yaml-indent"),
    pytest.param(dict(user_data="#cloud-config\npackages:\n  - curl\nhostname: a: b\n"), "user-data", 4,
                 "user-data: line 4: not valid YAML: mapping values are not allowed here", id="user-data-yaml-colon"),
    pytest.param(dict(user_data="#cloud-config\n- a\n- b\n"), "user-data", None,
                 "user-data: a #cloud-config must be a mapping, got list", id="cloud-config-list"),
    pytest.param(dict(user_data="#cloud-config\njust text\n"), "user-data", None,
                 "user-data: a #cloud-config must be a mapping, got str", id="cloud-config-scalar"),
    pytest.param(dict(user_data="hello world\n#cloud-config\n"), "user-data", 1,
                 "user-data: line 1: unknown format (first line 'hello world')" + HINT, id="unknown-format"),
    pytest.param(dict(user_data="\ufeff#cloud-config\na: 1\n"), "user-data", 1,
                 "user-data: line 1: starts with a UTF-8 byte order mark: cloud-init then reads no header and "
                 "ignores it. Save it as UTF-8 without a BOM.", id="bom"),
    pytest.param(dict(user_data=""), "user-data", 1,
                 "user-data: line 1: unknown format (first line '(empty)')" + HINT, id="empty-user-data"),
    pytest.param(dict(user_data=["a", "b"]), "user-data", None,
                 "user-data: must be a mapping (a cloud-config) or a string", id="user-data-list"),
    pytest.param(dict(meta_data="- a\n- b\n"), "meta-data", None, "meta-data: must be a mapping",
                 id="meta-data-list-yaml"),
    pytest.param(dict(meta_data="just-a-word"), "meta-data", None, "meta-data: must be a mapping",
                 id="meta-data-scalar-yaml"),
    pytest.param(dict(meta_data="instance-id: i-1\n  local-hostname: x\n"), "meta-data", 2,
                 "meta-data: line 2: not valid YAML: mapping values are not allowed here", id="meta-data-yaml"),
    pytest.param(dict(meta_data=["instance-id", "i-1"]), "meta-data", None, "meta-data: must be a mapping or YAML text",
                 id="meta-data-python-list"),
    pytest.param(dict(network_config={"version": 3, "config": []}), "network-config", None,
                 "network-config: version must be 1 or 2, got 3", id="net-version-3"),
    pytest.param(dict(network_config={"ethernets": {"eth0": {"dhcp4": True}}}), "network-config", None,
                 "network-config: version must be 1 or 2, got None", id="net-no-version"),
    pytest.param(dict(network_config="version: '2'\nethernets: {}\n"), "network-config", None,
                 "network-config: version must be 1 or 2, got '2'", id="net-version-string"),
    pytest.param(dict(network_config="- eth0\n- eth1\n"), "network-config", None,
                 "network-config: must be a mapping with a version", id="net-not-mapping"),
    pytest.param(dict(network_config=["eth0"]), "network-config", None,
                 "network-config: must be a mapping or a string", id="net-python-list"),
    pytest.param(dict(network_config="version: 2\nethernets:\n  eth0: {dhcp4: true\n"), "network-config", 4,
                 "network-config: line 4: not valid YAML: expected ',' or '}', but got '<stream end>'",
                 id="net-yaml"),
    pytest.param(dict(network_config={"version": 1}), "network-config", None,
                 "network-config: version 1 needs a 'config' list", id="v1-no-config"),
    pytest.param(dict(network_config={"version": 1, "config": {"type": "physical"}}), "network-config", None,
                 "network-config: version 1 needs a 'config' list", id="v1-config-mapping"),
    pytest.param(dict(network_config={"version": 1, "config": [{"type": "physical", "name": "eth0"},
                                                               {"type": "wireless", "name": "wlan0"}]}),
                 "network-config", None, "network-config: config[1]: type must be one of " + V1_TYPES,
                 id="v1-unknown-type"),
    pytest.param(dict(network_config={"version": 1, "config": ["eth0"]}), "network-config", None,
                 "network-config: config[0]: type must be one of " + V1_TYPES, id="v1-entry-not-mapping"),
    pytest.param(dict(network_config={"version": 1, "config": [{"type": "physical", "mac_address": "x"}]}),
                 "network-config", None, "network-config: config[0]: a physical needs 'name'",
                 id="v1-physical-no-name"),
    pytest.param(dict(network_config={"version": 1, "config": [{"type": "nameserver", "address": ["1.1.1.1"]},
                                                               {"type": "bridge", "name": ""}]}),
                 "network-config", None, "network-config: config[1]: a bridge needs 'name'", id="v1-bridge-no-name"),
    pytest.param(dict(network_config={"version": 2, "ethernet": {"eth0": {}}}), "network-config", None,
                 "network-config: unknown version 2 key 'ethernet'" + V2_HINT, id="v2-unknown-key"),
    pytest.param(dict(network_config={"network": {"version": 2, "bogus": 1}}), "network-config", None,
                 "network-config: unknown version 2 key 'bogus'" + V2_HINT, id="v2-wrapped-unknown-key"),
    pytest.param(dict(network_config={"version": 2, "ethernets": ["eth0"]}), "network-config", None,
                 "network-config: ethernets must be a mapping of interface names", id="v2-ethernets-list"),
    pytest.param(dict(network_config={"version": 2, "ethernets": {"eth0": None}}), "network-config", None,
                 "network-config: ethernets.eth0 must be a mapping", id="v2-ethernet-null"),
    pytest.param(dict(network_config={"version": 2, "vlans": {"vlan10": {"link": "eth0"}}}), "network-config",
                 None, "network-config: vlans.vlan10: a vlan entry needs 'id'", id="v2-vlan-no-id"),
    pytest.param(dict(network_config={"version": 2, "vlans": {"vlan20": {"id": 20}}}), "network-config",
                 None, "network-config: vlans.vlan20: a vlan entry needs 'link'", id="v2-vlan-no-link"),
    pytest.param(dict(network_config={"version": 2, "bonds": {"bond0": {"parameters": {"mode": "active-backup"}}}}),
                 "network-config", None, "network-config: bonds.bond0: a bond entry needs 'interfaces'", id="v2-bond-no-interfaces"),
    pytest.param(dict(network_config={"version": 2, "bonds": {"bond1": {"interfaces": []}}}),
                 "network-config", None, "network-config: bonds.bond1: a bond needs 'interfaces' (its members)", id="v2-bond-empty"),
    pytest.param(dict(vendor_data="plain words\n"), "vendor-data", 1,
                 "vendor-data: line 1: unknown format (first line 'plain words')" + HINT, id="vendor-unknown-format"),
    pytest.param(dict(vendor_data="#cloud-config\na: [\n"), "vendor-data", 3,
                 "vendor-data: line 3: not valid YAML: expected the node content, but found '<stream end>'",
                 id="vendor-yaml"),
    pytest.param(dict(vendor_data=["x"]), "vendor-data", None,
                 "vendor-data: must be a mapping (a cloud-config) or a string", id="vendor-wrong-type"),
]


@pytest.mark.parametrize("kwargs,name,line,message", ERROR_CASES)
def test_validation_errors(kwargs, name, line, message):
    with pytest.raises(SeedError) as info:
        render_seed(**kwargs)
    assert str(info.value) == message
    assert info.value.file == name
    assert info.value.line == line


@pytest.mark.parametrize("version,body", [
    (1, {"config": [{"type": "physical", "name": "eth0", "subnets": [{"type": "dhcp"}]},
                    {"type": "vlan", "name": "eth0.10", "vlan_link": "eth0", "vlan_id": 10},
                    {"type": "nameserver", "address": ["192.0.2.53"]}]}),
    (2, {"ethernets": {"eth0": {"dhcp4": True}, "eth1": {}}, "bonds": {"bond0": {"interfaces": ["eth1"]}},
         "vlans": {"vlan10": {"id": 10, "link": "eth0"}}, "renderer": "networkd"}),
])
@pytest.mark.parametrize("wrapped", [False, True], ids=["plain", "network-wrapper"])
def test_valid_network_config_both_versions_and_wrapper(version, body, wrapped):
    config = dict(body, version=version)
    if wrapped:
        config = {"network": config}
    files = render_seed(network_config=config)
    assert yaml.safe_load(files["network-config"]) == config
    text = seed.dump_yaml(config)
    assert render_seed(network_config=text)["network-config"] == text


# ---------------------------------------------------------------- secrets

HASH1 = "$6$saltsalt$Q1vRkp0mZ7s9Ue8bN2xQ5k2JqH7w0"
HASH2 = "$6$rounds=4096$pepper$7H/1LT4f9N3wpgNunhsIqtMj62O"
PLAIN = "Plain-Text-Pw-4711"
CHPASSWD_PW = "Chpasswd-Pw-0815"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n"
               "-----END OPENSSH PRIVATE KEY-----\n")
SECRET_USER_DATA = {
    "users": [
        {"name": "opsadmin", "groups": "wheel,adm", "passwd": HASH1, "lock_passwd": False},
        {"name": "deployer", "primary_group": "deployers", "hashed_passwd": HASH2},
        {"name": "kiosk", "plain_text_passwd": PLAIN},
    ],
    "chpasswd": {"list": "opsadmin:" + CHPASSWD_PW + "\n", "expire": False},
    "ssh_private_keys": {"ed25519_private": PRIVATE_KEY},
    "hostname": "edge-host",
}


def assert_secrets_masked():
    for secret in (HASH1, HASH2, PLAIN, CHPASSWD_PW, PRIVATE_KEY):
        assert secrets.redact("before %s after" % secret) == "before ******** after"
    assert secrets.redact("chpasswd opsadmin:" + CHPASSWD_PW) == "chpasswd opsadmin:********"
    ordinary = "users opsadmin deployer kiosk groups wheel,adm deployers host edge-host"
    assert secrets.redact(ordinary) == ordinary


def test_secrets_in_user_data_dict_are_registered():
    assert secrets.redact(HASH1) == HASH1  # nothing registered yet
    files = render_seed(user_data=SECRET_USER_DATA)
    assert_secrets_masked()
    masked = secrets.redact(files["user-data"])
    for secret in (HASH1, HASH2, PLAIN, CHPASSWD_PW):
        assert secret not in masked
    assert "opsadmin" in masked and "wheel,adm" in masked


def test_secrets_in_cloud_config_string_are_registered():
    text = "#cloud-config\n" + yaml.safe_dump(SECRET_USER_DATA)
    assert render_seed(user_data=text)["user-data"] == text
    assert_secrets_masked()


def test_secrets_in_vendor_data_are_registered():
    render_seed(vendor_data={"users": [{"name": "vendoruser", "passwd": HASH1}]})
    assert secrets.redact(HASH1) == "********"
    assert secrets.redact("vendoruser") == "vendoruser"


def test_script_user_data_registers_nothing(isolated_secrets):
    render_seed(user_data="#!/bin/sh\necho passwd: not-parsed-1234\n")
    assert isolated_secrets == set()


def test_chpasswd_users_form_masks_only_the_password():
    render_seed(user_data={"chpasswd": {"users": [{"name": "alice", "password": CHPASSWD_PW, "type": "text"}]}})
    assert secrets.redact(CHPASSWD_PW) == "********"
    assert secrets.redact("user alice, type text") == "user alice, type text"


def test_crlf_cloud_config_secrets_are_registered():
    render_seed(user_data="#cloud-config\r\npassword: Crlf-Secret-77\r\n")
    assert secrets.redact("Crlf-Secret-77") == "********"


# ---------------------------------------------------------------- write_seed

FULL = dict(meta_data={"instance-id": "i-write", "local-hostname": "edge"},
            user_data={"users": [{"name": "ops", "passwd": HASH1}]},
            network_config=NET_V2, vendor_data={"packages": ["curl"]})


def read_all(dest):
    return {name: (dest / name).read_text() for name in sorted(os.listdir(dest))}


def summary(text):
    return "(%d lines, sha256 %s; content hidden: set show_secrets to see it)\n" % (
        len(text.splitlines()), hashlib.sha256(text.encode()).hexdigest()[:16])


def test_write_seed_first_write_modes_and_idempotence(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    changed, diffs = seed.write_seed(str(dest), files)
    assert changed == ["meta-data", "user-data", "network-config", "vendor-data"]
    assert len(diffs) == 4
    assert read_all(dest) == files  # no leftover temporary files
    modes = {name: stat.S_IMODE(os.stat(dest / name).st_mode) for name in files}
    assert modes == {"meta-data": 0o644, "user-data": 0o600, "network-config": 0o644, "vendor-data": 0o600}
    assert seed.write_seed(str(dest), files) == ([], [])
    assert read_all(dest) == files


def test_write_seed_changes_only_the_changed_file(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    seed.write_seed(str(dest), files)
    inode = os.stat(dest / "meta-data").st_ino
    newer = dict(files, **{"network-config": seed.dump_yaml({"version": 2, "ethernets": {"eth9": {}}})})
    changed, diffs = seed.write_seed(str(dest), newer)
    assert changed == ["network-config"]
    assert diffs == [{"before_header": str(dest / "network-config"), "after_header": str(dest / "network-config"),
                      "before": files["network-config"], "after": newer["network-config"]}]
    assert read_all(dest) == newer
    assert os.stat(dest / "meta-data").st_ino == inode


def test_write_seed_rewrites_a_file_changed_on_disk(tmp_path):
    files = render_seed(**FULL)
    seed.write_seed(str(tmp_path), files)
    (tmp_path / "user-data").write_text("tampered\n")
    os.chmod(tmp_path / "user-data", 0o666)
    changed, diffs = seed.write_seed(str(tmp_path), files)
    assert changed == ["user-data"]
    assert diffs[0]["before"] == summary("tampered\n")
    assert (tmp_path / "user-data").read_text() == files["user-data"]
    assert stat.S_IMODE(os.stat(tmp_path / "user-data").st_mode) == 0o600


def test_write_seed_check_mode_writes_nothing(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    changed, diffs = seed.write_seed(str(dest), files, check_mode=True)
    assert changed == ["meta-data", "user-data", "network-config", "vendor-data"]
    assert [diff["after_header"] for diff in diffs] == [str(dest / name) for name in changed]
    assert not dest.exists()
    seed.write_seed(str(dest), files)
    newer = dict(files, **{"meta-data": "instance-id: i-other\n"})
    assert seed.write_seed(str(dest), newer, check_mode=True)[0] == ["meta-data"]
    assert (dest / "meta-data").read_text() == files["meta-data"]


def test_write_seed_diffs_hide_user_and_vendor_data(tmp_path):
    files = render_seed(**FULL)
    changed, diffs = seed.write_seed(str(tmp_path), files)
    by_name = dict(zip(changed, diffs))
    assert by_name["meta-data"]["before"] == ""
    assert by_name["meta-data"]["after"] == files["meta-data"]
    assert by_name["network-config"]["after"] == files["network-config"]
    assert by_name["user-data"] == {"before_header": str(tmp_path / "user-data"),
                                    "after_header": str(tmp_path / "user-data"),
                                    "before": "", "after": summary(files["user-data"])}
    assert by_name["user-data"]["after"].startswith("(4 lines, sha256 ")
    assert by_name["vendor-data"]["after"] == summary(files["vendor-data"])
    assert HASH1 not in repr(diffs)


def test_write_seed_show_secrets_shows_user_data(tmp_path):
    files = render_seed(**FULL)
    changed, diffs = seed.write_seed(str(tmp_path), files, check_mode=True, show_secrets=True)
    by_name = dict(zip(changed, diffs))
    assert by_name["user-data"]["after"] == files["user-data"]
    assert HASH1 in by_name["user-data"]["after"]
    assert by_name["vendor-data"]["after"] == files["vendor-data"]


# ---------------------------------------------------------------- placement fragments

LINK_SCRIPT = "set -e\nmkdir -p /var/lib/cloud/seed/\nln -s -T -f %s/cloud-init-data /var/lib/cloud/seed/nocloud\n"


@pytest.mark.parametrize("medium", ["/run/initramfs/live", "/run/live/medium"])
def test_config_fragment_iso(tmp_path, medium):
    files = render_seed(meta_data={"instance-id": "i-iso"}, user_data={"hostname": "iso"}, network_config=NET_V2)
    fragment = seed.config_fragment("iso", str(tmp_path), medium, files=files)
    assert fragment == {
        "scripts": {"postCustomization": [{"name": "cloud-init-seed-link", "content": LINK_SCRIPT % medium}]},
        "iso": {"additionalFiles": {str(tmp_path / "meta-data"): "/cloud-init-data/meta-data",
                                    str(tmp_path / "user-data"): "/cloud-init-data/user-data",
                                    str(tmp_path / "network-config"): "/cloud-init-data/network-config"},
                "kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]}},
    }


def test_config_fragment_iso_default_medium(tmp_path):
    fragment = seed.config_fragment("iso", str(tmp_path), files={"user-data": "", "meta-data": ""})
    assert fragment["scripts"]["postCustomization"][0]["content"] == LINK_SCRIPT % "/run/initramfs/live"
    assert sorted(fragment["iso"]["additionalFiles"].values()) == ["/cloud-init-data/meta-data",
                                                                   "/cloud-init-data/user-data"]


def test_config_fragment_rootfs(tmp_path):
    files = render_seed(user_data={"a": 1}, vendor_data="#!/bin/sh\n")
    fragment = seed.config_fragment("rootfs", str(tmp_path), "/run/live/medium", files=files)
    assert fragment == {"os": {
        "kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]},
        "additionalFiles": {str(tmp_path / "meta-data"): "/var/lib/cloud/seed/nocloud/meta-data",
                            str(tmp_path / "user-data"): "/var/lib/cloud/seed/nocloud/user-data",
                            str(tmp_path / "vendor-data"): "/var/lib/cloud/seed/nocloud/vendor-data"},
    }}


def test_iso_fragment_passes_the_config_validator(tmp_path):
    files = render_seed(meta_data={"instance-id": "i-cfg"}, user_data={"hostname": "cfg"}, network_config=NET_V2)
    seed.write_seed(str(tmp_path), files)
    fragment = seed.config_fragment("iso", str(tmp_path), "/run/live/medium", files=files)
    parsed = config_mod.parse_config(fragment)
    assert parsed.iso.present
    assert parsed.iso.kernel_extra_args == ("ds=nocloud",)
    assert sorted((spec.source, spec.destination) for spec in parsed.iso.additional_files) == [
        (str(tmp_path / "meta-data"), "/cloud-init-data/meta-data"),
        (str(tmp_path / "network-config"), "/cloud-init-data/network-config"),
        (str(tmp_path / "user-data"), "/cloud-init-data/user-data"),
    ]
    scripts = parsed.scripts.post_customization
    assert [(script.name, script.interpreter, script.content) for script in scripts] == [
        ("cloud-init-seed-link", "/bin/sh", LINK_SCRIPT % "/run/live/medium")]
    assert parsed.os.additional_files == ()


def test_rootfs_fragment_passes_the_config_validator(tmp_path):
    files = render_seed(user_data={"hostname": "cfg"})
    seed.write_seed(str(tmp_path), files)
    parsed = config_mod.parse_config(seed.config_fragment("rootfs", str(tmp_path), files=files))
    assert parsed.os.kernel_extra_args == ("ds=nocloud",)
    assert sorted(spec.destination for spec in parsed.os.additional_files) == [
        "/var/lib/cloud/seed/nocloud/meta-data", "/var/lib/cloud/seed/nocloud/user-data"]
    assert not parsed.iso.present


def test_iso_fragment_fails_the_validator_when_files_are_missing(tmp_path):
    files = render_seed()
    fragment = seed.config_fragment("iso", str(tmp_path / "absent"), files=files)
    with pytest.raises(config_mod.ConfigError, match="file not found"):
        config_mod.parse_config(fragment)


# ---------------------------------------------------------------- seed_schema pure parts

def make_root(tmp_path, dirs=(), files=()):
    root = tmp_path / "root"
    root.mkdir()
    for name in dirs:
        (root / name).mkdir(parents=True)
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("#!/bin/sh\n")
    return chroot_mod.Chroot(str(root))


@pytest.mark.parametrize("dirs,files,medium", [
    (["usr/lib/dracut/modules.d/90dmsquash-live"], [], "/run/initramfs/live"),
    (["lib/dracut/modules.d/90dmsquash-live"], [], "/run/initramfs/live"),
    (["usr/lib/live/boot"], [], "/run/live/medium"),
    ([], ["bin/live-boot"], "/run/live/medium"),
    (["usr/lib/dracut/modules.d/90dmsquash-live", "usr/lib/live/boot"], [], "/run/initramfs/live"),
    (["usr/lib/dracut/modules.d/95nfs"], [], "/run/initramfs/live"),
    ([], [], "/run/initramfs/live"),
], ids=["dracut-usr", "dracut-lib", "live-boot", "live-boot-binary", "both", "dracut-without-dmsquash", "neither"])
def test_live_medium(tmp_path, dirs, files, medium):
    assert live_medium(make_root(tmp_path, dirs, files)) == medium


def test_live_medium_follows_absolute_symlinks_inside_the_root(tmp_path):
    chroot = make_root(tmp_path, dirs=["usr/lib/live/boot"])
    os.symlink("/usr/lib", os.path.join(chroot.root, "lib"))
    os.makedirs(os.path.join(chroot.root, "usr/lib/dracut/modules.d/90dmsquash-live"))
    assert live_medium(chroot) == "/run/initramfs/live"


@pytest.mark.parametrize("text,line", [
    ("Error: Cloud config schema errors: line 7 column 3: bad", 7),
    ('while parsing a block mapping in "<unicode string>", line 12, column 1', 12),
    ("/run/liveiso-seed/user-data:5: mapping values", 5),
    ("Cloud config schema errors: users.0.groups: 1 is not of type 'string'", None),
    ("Invalid user-data", None),
])
def test_line_re(text, line):
    match = LINE_RE.search(text)
    assert (int(match.group(1)) if match else None) == line


# ---------------------------------------------------------------- module glue

class FakeModule(object):
    def __init__(self, tmp_path, check_mode=False, diff=False, **params):
        self.params = dict(dest=str(tmp_path / "seed") + "/", meta_data=None, user_data=None, network_config=None,
                           vendor_data=None, instance_id=None, host=None, placement="iso", live_medium_path=None,
                           validate_with_image=None, show_secrets=False)
        self.params.update(params)
        self.check_mode = check_mode
        self._diff = diff
        self.no_log_values = set()


def test_glue_handler_result(tmp_path):
    module = FakeModule(tmp_path, diff=True, user_data={"users": [{"name": "ops", "passwd": HASH2}]},
                        meta_data="instance-id: i-glue\n")
    result = module_glue.cloudinit_seed(module)
    dest = str(tmp_path / "seed")
    assert result["changed"] is True
    assert result["changed_files"] == ["meta-data", "user-data"]
    assert result["files"] == {"user-data": dest + "/user-data", "meta-data": dest + "/meta-data"}
    assert result["instance_id"] == "i-glue"
    assert result["live_medium_path"] == "/run/initramfs/live"
    assert result["notes"] == ["offline checks passed: meta-data, user-data"]
    assert result["config"]["scripts"]["postCustomization"][0]["content"] == LINK_SCRIPT % "/run/initramfs/live"
    assert HASH2 in module.no_log_values
    assert HASH2 not in repr(result["diff"])
    assert (tmp_path / "seed" / "meta-data").read_text() == "instance-id: i-glue\n"
    again = module_glue.cloudinit_seed(FakeModule(tmp_path, user_data={"users": [{"name": "ops", "passwd": HASH2}]},
                                                  meta_data="instance-id: i-glue\n"))
    assert again["changed"] is False and again["changed_files"] == []
    assert "diff" not in again


def test_glue_handler_check_mode_and_rootfs(tmp_path):
    module = FakeModule(tmp_path, check_mode=True, placement="rootfs", live_medium_path="/run/live/medium",
                        host="site-z")
    result = module_glue.cloudinit_seed(module)
    assert result["changed"] is True
    assert IID_RE.match(result["instance_id"])
    assert result["live_medium_path"] == "/run/live/medium"
    assert list(result["config"]) == ["os"]
    assert not (tmp_path / "seed").exists()


def test_secrets_found_in_unparsable_text():
    text = ("#cloud-config\npasswd: $6$salt$HashedValueNumberOne0123456789\n"
            "chpasswd: {users: [{name: root, password: 'Plain-Secret-1'}]}\n"
            "token = abcdTOKENvalue\n"
            "ssh_keys:\n  rsa_private: |\n    -----BEGIN RSA PRIVATE KEY-----\n    PemBodyLineOne\n"
            "    -----END RSA PRIVATE KEY-----\nusers: [\n")
    seed.render_user_data(text)
    masked = secrets.redact(text)
    for secret in ("$6$salt$HashedValueNumberOne0123456789", "abcdTOKENvalue", "PemBodyLineOne"):
        assert secret not in masked, masked
    assert "users: [" in masked and "#cloud-config" in masked  # the rest stays readable


def test_write_seed_removes_a_file_no_longer_rendered(tmp_path):
    """A host whose network-config is dropped (no interfaces, no MAC: cloud-init's fallback) loses the old file;
    check mode reports it and keeps it."""
    files = render_seed(**FULL)
    seed.write_seed(str(tmp_path), files)
    fewer = {name: text for name, text in files.items() if name != "network-config"}
    changed, diffs = seed.write_seed(str(tmp_path), fewer, check_mode=True)
    assert changed == ["network-config"] and (tmp_path / "network-config").exists()
    assert diffs[0]["before"] == files["network-config"] and diffs[0]["after"] == ""
    changed = seed.write_seed(str(tmp_path), fewer)[0]
    assert changed == ["network-config"]
    assert read_all(tmp_path) == fewer
    assert seed.write_seed(str(tmp_path), fewer) == ([], [])


# ---------------------------------------------------------------- closed sets

def test_seed_files_order_modes_and_secrecy():
    assert [name.value for name in seed.SeedFile] == ["meta-data", "user-data", "network-config", "vendor-data"]
    assert {name.value: name.mode for name in seed.SeedFile} == {
        "meta-data": 0o644, "user-data": 0o600, "network-config": 0o644, "vendor-data": 0o600}
    assert [name.value for name in seed.SeedFile if name.holds_secrets] == ["user-data", "vendor-data"]


@pytest.mark.parametrize("text,fmt", [
    ("#cloud-config\na: 1\n", "CLOUD_CONFIG"),
    ("#cloud-config-archive\n- type: text/cloud-config\n", "CLOUD_CONFIG_ARCHIVE"),
    ("#!/bin/sh\n", "SCRIPT"),
    ("## template: jinja\n#cloud-config\n", "JINJA_TEMPLATE"),
    (MIME, "MIME_MULTIPART"),
    ("#include\nhttps://example.com/x\n", "INCLUDE"),
    ("hello\n", None),
    ("", None),
])
def test_user_data_format_of(text, fmt):
    found = seed.UserDataFormat.of(text)
    assert (found.name if found else None) == fmt


def test_placement_takes_the_option_strings_and_makes_the_fragment(tmp_path):
    assert seed.Placement("iso") is seed.Placement.ISO and str(seed.Placement.ROOTFS) == "rootfs"
    names = ["meta-data", "user-data"]
    for placement in seed.Placement:
        assert placement.fragment(str(tmp_path), names, "/run/live/medium", "/cloud-init-data") == \
            seed.config_fragment(placement.value, str(tmp_path), "/run/live/medium", files=names)
    with pytest.raises(ValueError):
        seed.config_fragment("usb", str(tmp_path))


def test_network_v1_types_needing_a_name():
    assert [kind.value for kind in seed.NetworkV1Type if kind.needs_name] == [
        "physical", "bond", "bridge", "vlan", "infiniband", "loopback"]
    assert [key.value for key in seed.NetworkV2Key if not key.lists_interfaces] == ["renderer", "version"]


@pytest.mark.parametrize("files,renderer", [
    (["usr/sbin/netplan", "sbin/ifup"], "netplan"),
    (["sbin/ifup"], "eni"),
    (["usr/lib/systemd/systemd-networkd"], "networkd"),
    ([], "sysconfig"),
])
def test_network_renderer_of(tmp_path, files, renderer):
    chroot = make_root(tmp_path, files=files)
    for name in files:
        os.chmod(os.path.join(chroot.root, name), 0o755)
    assert NetworkRenderer.of(chroot) is NetworkRenderer(renderer)


def test_live_medium_is_a_live_medium(tmp_path):
    assert live_medium(make_root(tmp_path, dirs=["usr/lib/live/boot"])) is seed.LiveMedium.LIVE_BOOT


def test_seed_request_takes_the_placement_string(tmp_path):
    assert make.SeedRequest(dest=str(tmp_path), placement="rootfs").placement is seed.Placement.ROOTFS
    assert make.SeedRequest(dest=str(tmp_path)).placement is seed.Placement.ISO


def test_module_result_holds_plain_strings(tmp_path):
    """No enum member leaks into what the module returns: Ansible serialises (and users YAML-dump) it."""
    result = make.make_seed(make.SeedRequest(dest=str(tmp_path / "seed"), user_data={"a": 1}, diff=True))

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                assert type(key) is str  # pylint: disable=unidiomatic-typecheck  # exactly str, not an enum
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            assert type(value) in (str, bool), repr(value)

    walk(dict(result))
    assert yaml.safe_load(yaml.safe_dump(dict(result))) == dict(result)


# ---------------------------------------------------------------- plain words are no secrets (issue 16)

FLAG_USER_DATA = ("#cloud-config\nssh_pwauth: true\nusers:\n  - name: ops\n    lock_passwd: false\n"
                  "    lock-passwd: 'False'\n    passwd: " + HASH1 + "\n"
                  "chpasswd:\n  expire: false\n  users:\n    - {name: ops, password: RANDOM, type: RANDOM}\n"
                  "    - {name: root, password: Root-Secret-77}\n")


@pytest.mark.parametrize("word", ["true", "false", "True", "FALSE", "yes", "'no'", '"off"', "null", "none", "random",
                                  " on "])
def test_plain_words_are_never_registered(isolated_secrets, word):
    secrets.register_secret(word)
    assert not isolated_secrets
    secrets.register_secret("Falsehood-is-a-secret")
    assert isolated_secrets == {"Falsehood-is-a-secret"}


def test_flag_keys_register_nothing_but_the_real_secrets_do(isolated_secrets):
    seed.render_user_data(FLAG_USER_DATA)
    render_seed(user_data=FLAG_USER_DATA)
    render_seed(user_data=yaml.safe_load(FLAG_USER_DATA))
    assert isolated_secrets == {HASH1, "Root-Secret-77"}


def test_results_and_diffs_show_flags_unmasked(tmp_path):
    network = {"version": 2, "ethernets": {"eth0": {"dhcp4": False, "dhcp6": True, "match": {"name": "e*"}}}}
    module = FakeModule(tmp_path, diff=True, user_data=FLAG_USER_DATA, network_config=network)
    result = module_glue.cloudinit_seed(module)
    shown = [entry for entry in result["diff"] if entry["after_header"].endswith("network-config")][0]["after"]
    assert secrets.redact(shown) == shown and "dhcp4: false" in shown and "dhcp6: true" in shown
    assert not {"true", "false", "True", "False", "RANDOM"} & module.no_log_values
    assert {HASH1, "Root-Secret-77"} <= module.no_log_values


# ---------------------------------------------------------------- modes and ownership (issue 16)

def modes_of(dest):
    return {name: stat.S_IMODE(os.stat(dest / name).st_mode) for name in sorted(os.listdir(dest))}


def test_a_loosened_mode_is_restored_and_reported(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    seed.write_seed(str(dest), files)
    os.chmod(dest / "user-data", 0o644)
    os.chmod(dest / "meta-data", 0o600)
    inode = os.stat(dest / "user-data").st_ino
    changed, diffs = seed.write_seed(str(dest), files, check_mode=True)
    assert changed == ["meta-data", "user-data"]
    assert modes_of(dest)["user-data"] == 0o644  # check mode touches nothing
    assert [(d["before_header"], d["after_header"]) for d in diffs] == [
        (str(dest / "meta-data") + " (mode 0600)", str(dest / "meta-data") + " (mode 0644)"),
        (str(dest / "user-data") + " (mode 0644)", str(dest / "user-data") + " (mode 0600)")]
    assert diffs[1]["before"] == diffs[1]["after"] == summary(files["user-data"])  # still hidden
    assert seed.write_seed(str(dest), files) == (changed, diffs)
    assert modes_of(dest) == {"meta-data": 0o644, "network-config": 0o644, "user-data": 0o600, "vendor-data": 0o600}
    assert os.stat(dest / "user-data").st_ino == inode  # content unchanged: chmod, not a rewrite
    assert seed.write_seed(str(dest), files) == ([], [])


def test_modes_from_options(tmp_path):
    dest = tmp_path / "seed"
    attributes = seed.FileAttributes.from_options(mode="0640", public_mode=0o600)
    seed.write_seed(str(dest), render_seed(**FULL), attributes=attributes)
    assert modes_of(dest) == {"meta-data": 0o600, "network-config": 0o600, "user-data": 0o640, "vendor-data": 0o640}
    assert seed.write_seed(str(dest), render_seed(**FULL), attributes=attributes) == ([], [])
    back_to_defaults = seed.write_seed(str(dest), render_seed(**FULL))[0]
    assert back_to_defaults == ["meta-data", "user-data", "network-config", "vendor-data"]


@pytest.mark.parametrize("value,mode", [(None, 0o600), ("0600", 0o600), ("640", 0o640), (" 0400 ", 0o400),
                                        (0o600, 0o600), (0, 0)])
def test_parse_mode(value, mode):
    assert seed.parse_mode(value, "mode", 0o600) == mode


@pytest.mark.parametrize("value,message", [
    (600, "mode: must be a mode between 0000 and 0777, got 1130 (600). An unquoted 600 in YAML is the decimal"),
    ("u=rw", "mode: must be an octal mode such as '0600', got 'u=rw'. Give it as a quoted octal string."),
    ("0800", "mode: must be an octal mode such as '0600', got '0800'"),
    ("04755", "mode: must be an octal mode such as '0600', got '04755'"),
    (True, "mode: must be an octal mode such as '0600', got True"),
])
def test_bad_modes(value, message):
    with pytest.raises(ConfigError) as info:
        seed.parse_mode(value, "mode", 0o600)
    assert str(info.value).startswith(message)


def test_owner_and_group_by_name_or_id(tmp_path):
    me, my_group = os.getuid(), os.getgid()
    attributes = seed.FileAttributes.from_options(owner=pwd.getpwuid(me).pw_name, group=str(my_group))
    assert (attributes.uid, attributes.gid) == (me, my_group) and attributes.owner == (me, my_group)
    assert seed.FileAttributes.from_options(group=grp.getgrgid(my_group).gr_name).owner == (-1, my_group)
    assert seed.FileAttributes().owner is None
    dest = tmp_path / "seed"
    seed.write_seed(str(dest), render_seed(**FULL), attributes=attributes)
    assert {(os.stat(dest / n).st_uid, os.stat(dest / n).st_gid) for n in os.listdir(dest)} == {(me, my_group)}
    assert seed.write_seed(str(dest), render_seed(**FULL), attributes=attributes) == ([], [])
    with pytest.raises(ConfigError) as info:
        seed.FileAttributes.from_options(owner="no-such-user-liveiso")
    assert str(info.value) == "owner: no such owner on the managed host: 'no-such-user-liveiso'"


def test_owner_drift_is_reported(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    seed.write_seed(str(dest), files)
    other = seed.FileAttributes(uid=os.getuid() + 1, gid=os.getgid())
    changed, diffs = seed.write_seed(str(dest), files, check_mode=True, attributes=other)
    assert changed == ["meta-data", "user-data", "network-config", "vendor-data"]
    assert diffs[0]["after_header"].endswith("(owner %d)" % (os.getuid() + 1))


def test_a_symlink_in_place_of_a_seed_file_is_replaced(tmp_path):
    dest = tmp_path / "seed"
    files = render_seed(**FULL)
    seed.write_seed(str(dest), files)
    (tmp_path / "elsewhere").write_text(files["user-data"])
    os.unlink(dest / "user-data")
    os.symlink(tmp_path / "elsewhere", dest / "user-data")
    assert seed.write_seed(str(dest), files)[0] == ["user-data"]
    assert not os.path.islink(dest / "user-data") and (tmp_path / "elsewhere").read_text() == files["user-data"]


def test_module_result_lists_the_modes(tmp_path):
    module = FakeModule(tmp_path, user_data={"a": 1}, network_config=NET_V2, mode="0640")
    result = module_glue.cloudinit_seed(module)
    assert result["modes"] == {"meta-data": "0644", "user-data": "0640", "network-config": "0644"}
    os.chmod(tmp_path / "seed" / "user-data", 0o666)
    again = module_glue.cloudinit_seed(FakeModule(tmp_path, user_data={"a": 1}, network_config=NET_V2, mode="0640"))
    assert again["changed"] is True and again["changed_files"] == ["user-data"]
    assert stat.S_IMODE(os.stat(tmp_path / "seed" / "user-data").st_mode) == 0o640
