# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/filter/fleet.py: the data of the site_iso and cloudinit_config roles.

The expected values are what the roles' templates computed before the logic moved into the filters
(units.yml.j2, site-files.yml.j2, manifest.json.j2, the resolv.conf part of user-data.yml.j2): same units
in the same order, same files in the same order, same manifest keys and values.
"""

import inspect
import json
import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.liveiso.customizer.plugins.filter import fleet
from ansible_collections.liveiso.customizer.plugins.filter.fleet import (
    build_host_units,
    deprecated_variable,
    host_mac,
    mac_address,
    seed_write_files,
    site_manifest,
    site_media_files,
    site_units,
)

FILTER_DIR = os.path.dirname(fleet.__file__)

# The example inventory's groups as Ansible gives them (every group, 'all' and 'ungrouped' too).
GROUPS = {
    "all": ["localhost", "dhcp-a1", "dhcp-a2", "static-b1", "static-b2", "bond-c1", "bond-c2"],
    "ungrouped": [],
    "build_hosts": ["localhost"],
    "sites": ["dhcp-a1", "dhcp-a2", "static-b1", "static-b2", "bond-c1", "bond-c2"],
    "site_dhcp": ["dhcp-a2", "dhcp-a1"],
    "site_static": ["static-b1", "static-b2"],
    "site_bond": ["bond-c1", "bond-c2"],
}


def unit(name, site, hosts):
    return {"name": name, "site": site, "hosts": hosts}


# --- site_units -------------------------------------------------------------------------------------------


def test_site_units_per_group_sorted_sites_and_hosts():
    assert site_units(GROUPS) == [
        unit("site_bond", "site_bond", ["bond-c1", "bond-c2"]),
        unit("site_dhcp", "site_dhcp", ["dhcp-a1", "dhcp-a2"]),
        unit("site_static", "site_static", ["static-b1", "static-b2"]),
    ]
    # the parent group "sites" does not match ^site_; key order is name, site, hosts (as the template's)
    assert list(site_units(GROUPS)[0]) == ["name", "site", "hosts"]


def test_site_units_per_host():
    assert site_units(GROUPS, "^site_", "host") == [
        unit("bond-c1", "site_bond", ["bond-c1"]),
        unit("bond-c2", "site_bond", ["bond-c2"]),
        unit("dhcp-a1", "site_dhcp", ["dhcp-a1"]),
        unit("dhcp-a2", "site_dhcp", ["dhcp-a2"]),
        unit("static-b1", "site_static", ["static-b1"]),
        unit("static-b2", "site_static", ["static-b2"]),
    ]


def test_site_units_sort_like_jinja_case_insensitive():
    groups = {"site_Beta": ["Zeta", "alpha", "Mid"], "site_alpha": ["b", "A"], "site_gamma": []}
    assert [u["name"] for u in site_units(groups)] == ["site_alpha", "site_Beta", "site_gamma"]
    assert site_units(groups)[1]["hosts"] == ["alpha", "Mid", "Zeta"]
    assert site_units(groups)[0]["hosts"] == ["A", "b"]
    # an empty site is a unit without hosts per group, and no unit per host
    assert site_units(groups)[2] == unit("site_gamma", "site_gamma", [])
    assert [u["name"] for u in site_units(groups, per="host")] == ["A", "b", "alpha", "Mid", "Zeta"]


def test_site_units_pattern_matches_at_the_start():
    groups = {"site_a": ["h1"], "my_site_b": ["h2"], "edge-1": ["h3"], "edge-2": ["h4"]}
    assert [u["name"] for u in site_units(groups)] == ["site_a"]
    assert [u["name"] for u in site_units(groups, "edge-")] == ["edge-1", "edge-2"]
    assert site_units(groups, "^nothing") == []


def test_site_units_bad_input():
    with pytest.raises(AnsibleFilterError, match="site_iso_per must be group or host, not 'site'"):
        site_units(GROUPS, "^site_", "site")
    with pytest.raises(AnsibleFilterError, match="site_iso_site_pattern '\\(' is not a regular expression"):
        site_units(GROUPS, "(")
    with pytest.raises(AnsibleFilterError, match="expects the groups mapping"):
        site_units(["site_a"])


# --- build_host_units -------------------------------------------------------------------------------------

UNITS = [unit("u%d" % i, "site_%d" % i, ["h%d" % i]) for i in range(5)]


def names(units):
    return [u["name"] for u in units]


def test_build_host_units_round_robin():
    builders = ["b1", "b2"]
    assert names(build_host_units(UNITS, "b1", builders)) == ["u0", "u2", "u4"]
    assert names(build_host_units(UNITS, "b2", builders)) == ["u1", "u3"]
    three = ["b1", "b2", "b3"]
    shares = [names(build_host_units(UNITS, b, three)) for b in three]
    assert shares == [["u0", "u3"], ["u1", "u4"], ["u2"]]
    assert sorted(sum(shares, [])) == names(UNITS)  # every unit exactly once


def test_build_host_units_without_build_hosts_group_builds_everything():
    # units.yml.j2 used groups['build_hosts'] | default([inventory_hostname])
    assert build_host_units(UNITS, "solo") == UNITS
    assert build_host_units(UNITS, "solo", None) == UNITS
    # an empty build_hosts group (the template divided by zero) is taken like none
    assert build_host_units(UNITS, "solo", []) == UNITS


def test_build_host_units_host_not_in_build_hosts_gets_the_first_share():
    assert names(build_host_units(UNITS, "outsider", ["b1", "b2"])) == ["u0", "u2", "u4"]


def test_build_host_units_no_units():
    assert build_host_units([], "b1", ["b1", "b2"]) == []


# --- mac_address, host_mac --------------------------------------------------------------------------------


@pytest.mark.parametrize("value,expected", [
    ("52:54:00:10:00:01", "52:54:00:10:00:01"),
    ("52:54:00:AB:cd:EF", "52:54:00:ab:cd:ef"),
    ("52-54-00-AB-CD-EF", "52:54:00:ab:cd:ef"),
    ("", ""),
    (None, ""),
])
def test_mac_address(value, expected):
    assert mac_address(value) == expected


def test_mac_address_with_dashes():
    assert mac_address("52:54:00:AB:CD:EF", separator="-") == "52-54-00-ab-cd-ef"
    with pytest.raises(AnsibleFilterError, match="separator"):
        mac_address("52:54:00:AB:CD:EF", separator=".")


@pytest.mark.parametrize("value", [
    "52:54:00:10:00", "52:54:00:10:00:01:02", "52:54:00:10:00:0g", "525400100001", " 52:54:00:10:00:01",
    "52.54.00.10.00.01", "5:54:00:10:00:01", "52:54:00:10:00:01\n", True, ["52:54:00:10:00:01"], 1.5,
])
def test_mac_address_rejects_what_is_not_six_hex_pairs(value):
    with pytest.raises(AnsibleFilterError) as err:
        mac_address(value, "dhcp-a1", "cloudinit_mac")
    assert str(err.value).startswith("dhcp-a1: cloudinit_mac is ")
    assert "not a MAC address (6 pairs of hex digits" in str(err.value)


def test_mac_address_unquoted_in_yaml_is_a_base60_integer():
    value = yaml.safe_load("cloudinit_mac: 52:54:00:10:00:01")["cloudinit_mac"]
    assert value == 41135076001  # what YAML 1.1 (PyYAML, Ansible) makes of it
    with pytest.raises(AnsibleFilterError) as err:
        mac_address(value, "dhcp-a1", "cloudinit_mac")
    msg = str(err.value)
    assert msg.startswith("dhcp-a1: cloudinit_mac is the integer 41135076001, not a MAC address")
    assert "base-60" in msg and 'Quote it (cloudinit_mac: "52:54:00:10:00:01")' in msg
    # an integer that is no base-60 MAC still says to quote, without a guess
    with pytest.raises(AnsibleFilterError, match=r"is the integer 7, .*Quote it\.$"):
        mac_address(7, "h", "cloudinit_interfaces[0].mac")
    # an interface's mac: the hint names the key to write
    hint = r'^h: cloudinit_interfaces\[0\]\.mac is the integer .*\(mac: "52:54:00:30:01:01"\)'
    with pytest.raises(AnsibleFilterError, match=hint):
        host_mac({"cloudinit_interfaces": [{"name": "nic0", "mac": yaml.safe_load("52:54:00:30:01:01")}]}, "h")


def test_host_mac_sources():
    assert host_mac({"cloudinit_mac": "52:54:00:10:00:01"}, "a") == "52:54:00:10:00:01"
    # cloudinit_mac wins over the interfaces
    assert host_mac({"cloudinit_mac": "52:54:00:30:01:01",
                     "cloudinit_interfaces": [{"name": "nic0", "mac": "52:54:00:99:99:99"}]}) == "52:54:00:30:01:01"
    # else the first interface that has a mac
    interfaces = [{"name": "eth0"}, {"name": "eth1", "mac": "52:54:00:0A:0B:0C"},
                  {"name": "eth2", "mac": "52:54:00:0a:0b:0d"}]
    assert host_mac({"cloudinit_interfaces": interfaces}) == "52:54:00:0a:0b:0c"
    assert host_mac({}) == ""
    assert host_mac({"cloudinit_interfaces": []}) == ""
    assert host_mac({"cloudinit_interfaces": None}) == ""
    assert host_mac({"cloudinit_interfaces": [{"name": "eth0"}]}) == ""


def test_host_mac_set_empty_means_none_even_with_interfaces():
    # the template's hv.cloudinit_mac | default(<first interface's mac>): a defined "" is taken as it is
    interfaces = [{"name": "eth0", "mac": "52:54:00:99:99:99"}]
    assert host_mac({"cloudinit_mac": "", "cloudinit_interfaces": interfaces}) == ""
    assert host_mac({"cloudinit_mac": None, "cloudinit_interfaces": interfaces}) == ""


def test_host_mac_errors_name_host_and_variable():
    with pytest.raises(AnsibleFilterError, match=r"^static-b1: cloudinit_interfaces\[1\]\.mac is 'nope', not a MAC"):
        host_mac({"cloudinit_interfaces": [{"name": "a"}, {"name": "b", "mac": "nope"}]}, "static-b1")
    with pytest.raises(AnsibleFilterError, match=r"^h: cloudinit_interfaces must be a list, not str"):
        host_mac({"cloudinit_interfaces": "eth0"}, "h")
    with pytest.raises(AnsibleFilterError, match=r"^h: cloudinit_interfaces\[0\] must be a mapping"):
        host_mac({"cloudinit_interfaces": ["eth0"]}, "h")
    with pytest.raises(AnsibleFilterError, match="expects the variables of one host"):
        host_mac("52:54:00:10:00:01")


# --- site_media_files -------------------------------------------------------------------------------------


def seed(seeds, host, mac):
    files = [{"source": "%s/%s/%s" % (seeds, host, name), "destination": "/cloud-init-data/by-mac/%s/%s" % (mac, name)}
             for name in ("meta-data", "user-data", "network-config")]
    return files + [{"content": host + "\n", "destination": "/cloud-init-data/by-mac/%s/host" % mac}]


def test_site_media_files_of_the_example_site():
    hostvars = {"dhcp-a1": {"cloudinit_mac": "52:54:00:10:00:01"}, "dhcp-a2": {"cloudinit_mac": "52:54:00:10:00:02"}}
    files = site_media_files(unit("site_dhcp", "site_dhcp", ["dhcp-a1", "dhcp-a2"]), hostvars, "/srv/liveiso/seeds")
    assert files == (seed("/srv/liveiso/seeds", "dhcp-a1", "52-54-00-10-00-01")
                     + seed("/srv/liveiso/seeds", "dhcp-a2", "52-54-00-10-00-02")
                     + [{"content": "52-54-00-10-00-01 dhcp-a1\n52-54-00-10-00-02 dhcp-a2\n",
                         "destination": "/cloud-init-data/hosts.txt"}])
    # key order of each entry as the template wrote it
    assert [list(f) for f in files[:4]] == [["source", "destination"]] * 3 + [["content", "destination"]]


def test_site_media_files_macs_lowered_from_interfaces_and_hosts_without_mac_skipped():
    hostvars = {
        "Zeta": {"cloudinit_mac": "52:54:00:AA:BB:CC"},
        "alpha": {"cloudinit_interfaces": [{"name": "eth0"}, {"name": "eth1", "mac": "52:54:00:0A:0B:0C"}]},
        "nomac": {},
        "emptymac": {"cloudinit_mac": "", "cloudinit_interfaces": [{"name": "eth0", "mac": "52:54:00:99:99:99"}]},
        "dashed": {"cloudinit_mac": "52-54-00-DE-AD-01"},
    }
    files = site_media_files(unit("site_Beta", "site_Beta", ["alpha", "dashed", "emptymac", "nomac", "Zeta"]),
                             hostvars, "/out//seeds")
    assert files == (seed("/out//seeds", "alpha", "52-54-00-0a-0b-0c")
                     + seed("/out//seeds", "dashed", "52-54-00-de-ad-01")
                     + seed("/out//seeds", "Zeta", "52-54-00-aa-bb-cc")
                     + [{"content": "52-54-00-0a-0b-0c alpha\n52-54-00-de-ad-01 dashed\n52-54-00-aa-bb-cc Zeta\n",
                         "destination": "/cloud-init-data/hosts.txt"}])


def test_site_media_files_per_host_and_empty():
    hostvars = {"h1": {"cloudinit_mac": "52:54:00:10:00:01"}, "h2": {}}
    assert site_media_files(unit("h1", "site_a", ["h1"]), hostvars, "/s") == (
        seed("/s", "h1", "52-54-00-10-00-01")
        + [{"content": "52-54-00-10-00-01 h1\n", "destination": "/cloud-init-data/hosts.txt"}])
    # no host with a MAC (or no host at all): the table alone, a single newline
    table_only = [{"content": "\n", "destination": "/cloud-init-data/hosts.txt"}]
    assert site_media_files(unit("h2", "site_a", ["h2"]), hostvars, "/s") == table_only
    assert site_media_files(unit("site_empty", "site_empty", []), hostvars, "/s") == table_only


def test_site_media_files_errors():
    with pytest.raises(AnsibleFilterError, match=r"^badmac: cloudinit_mac is the integer 41135076001.*Quote it"):
        site_media_files(unit("site_x", "site_x", ["badmac"]), {"badmac": {"cloudinit_mac": 41135076001}}, "/s")
    with pytest.raises(AnsibleFilterError, match="host ghost of site_x is not in the inventory"):
        site_media_files(unit("site_x", "site_x", ["ghost"]), {}, "/s")
    same = {"a": {"cloudinit_mac": "52:54:00:10:00:01"}, "b": {"cloudinit_mac": "52-54-00-10-00-01"}}
    with pytest.raises(AnsibleFilterError, match="a and b have the same MAC address 52:54:00:10:00:01.*site_x"):
        site_media_files(unit("site_x", "site_x", ["a", "b"]), same, "/s")
    with pytest.raises(AnsibleFilterError, match="expects a unit"):
        site_media_files(["a"], same, "/s")


# --- site_manifest ----------------------------------------------------------------------------------------


def build_result(u, **values):
    return dict({"item": {"item": u, "ansible_job_id": "j1"}, "changed": True, "finished": 1}, **values)


def test_site_manifest():
    u1 = unit("site_bond", "site_bond", ["bond-c1", "bond-c2"])
    u2 = unit("site_dhcp", "site_dhcp", ["dhcp-a1", "dhcp-a2"])
    results = [
        build_result(u1, output="/srv/liveiso/site_bond.iso", sha256="ab" * 32, size=1048576, build_seconds=1.5,
                     build_path="fast", copy_method="reflink", volume_label="SITE_BOND"),
        build_result(u2, output="/srv/liveiso/site_dhcp.iso", sha256=None),  # checksum: false -> null stays null
    ]
    manifest = site_manifest(results, {"output": "/srv/liveiso/base.iso", "changed": False}, "group", "localhost")
    assert manifest == {
        "base_iso": "/srv/liveiso/base.iso", "base_sha256": "", "per": "group",
        "sites": [
            {"site": "site_bond", "name": "site_bond", "hosts": ["bond-c1", "bond-c2"],
             "iso": "/srv/liveiso/site_bond.iso", "sha256": "ab" * 32, "size": 1048576, "seconds": 1.5,
             "build_path": "fast", "copy_method": "reflink", "volume_label": "SITE_BOND", "build_host": "localhost"},
            {"site": "site_dhcp", "name": "site_dhcp", "hosts": ["dhcp-a1", "dhcp-a2"],
             "iso": "/srv/liveiso/site_dhcp.iso", "sha256": None, "size": 0, "seconds": 0,
             "build_path": "", "copy_method": "", "volume_label": "", "build_host": "localhost"},
        ],
    }
    assert site_manifest([], {"output": "/b.iso", "sha256": "cd" * 32}, "host", "b1") == {
        "base_iso": "/b.iso", "base_sha256": "cd" * 32, "per": "host", "sites": []}
    # the role writes it with to_nice_json (sorted keys): the file's bytes
    text = json.dumps(manifest, sort_keys=True, indent=4, separators=(",", ": "))
    assert text.splitlines()[:5] == ['{', '    "base_iso": "/srv/liveiso/base.iso",', '    "base_sha256": "",',
                                     '    "per": "group",', '    "sites": [']


def test_site_manifest_errors():
    with pytest.raises(AnsibleFilterError, match="has no output"):
        site_manifest([], {"changed": False}, "group", "b1")
    with pytest.raises(AnsibleFilterError, match="item.item is the unit"):
        site_manifest([{"output": "/x.iso"}], {"output": "/b.iso"}, "group", "b1")


# --- seed_write_files -------------------------------------------------------------------------------------

FLEET_FILE = {"path": "/etc/fleet-site", "content": "site_dhcp\n", "permissions": "0644"}


def test_seed_write_files_resolv_conf_first():
    h = {"cloudinit_write_resolv_conf": True, "cloudinit_dns_servers": ["10.0.2.3", "10.0.2.4"],
         "cloudinit_dns_search": ["fleet.example.net", "example.net"], "cloudinit_write_files": [FLEET_FILE]}
    static = dict(h, cloudinit_interfaces=[{"name": "lan0", "addresses": ["10.0.2.21/24"]}])
    resolv = {"path": "/etc/resolv.conf", "permissions": "0644",
              "content": "nameserver 10.0.2.3\nnameserver 10.0.2.4\nsearch fleet.example.net example.net\n"}
    assert seed_write_files(static, "static-b1") == [resolv, FLEET_FILE]
    assert list(seed_write_files(static)[0]) == ["path", "content", "permissions"]
    # a DHCP host (no interfaces, or one with dhcp4): its DHCP client is told to keep the site's DNS, or the
    # lease would rewrite resolv.conf after cloud-init wrote it (ifupdown's dhclient does)
    dhclient = {"path": "/etc/dhcp/dhclient.conf", "append": True, "content":
                "# liveiso.customizer (cloudinit_write_resolv_conf): the site's DNS, not the lease's\n"
                "supersede domain-name-servers 10.0.2.3, 10.0.2.4;\n"
                'supersede domain-search "fleet.example.net", "example.net";\n'}
    assert seed_write_files(h, "dhcp-a1") == [resolv, dhclient, FLEET_FILE]
    assert seed_write_files(dict(h, cloudinit_interfaces=[{"name": "lan0", "dhcp4": True}]))[1] == dhclient


def test_seed_write_files_variants():
    assert seed_write_files({}) == []
    assert seed_write_files({"cloudinit_write_files": [FLEET_FILE]}) == [FLEET_FILE]
    assert seed_write_files({"cloudinit_write_files": None}) == []
    # no search line without search domains
    assert seed_write_files({"cloudinit_write_resolv_conf": True, "cloudinit_dns_servers": ["10.0.0.1"]})[:1] == [
        {"path": "/etc/resolv.conf", "content": "nameserver 10.0.0.1\n", "permissions": "0644"}]
    # no resolv.conf without servers, or when not asked for
    assert seed_write_files({"cloudinit_write_resolv_conf": True, "cloudinit_dns_servers": []}) == []
    assert seed_write_files({"cloudinit_write_resolv_conf": False, "cloudinit_dns_servers": ["10.0.0.1"]}) == []
    assert seed_write_files({"cloudinit_dns_servers": ["10.0.0.1"]}) == []
    # a boolean from the command line (-e cloudinit_write_resolv_conf=false) is a string
    assert seed_write_files({"cloudinit_write_resolv_conf": "false", "cloudinit_dns_servers": ["10.0.0.1"]}) == []
    assert len(seed_write_files({"cloudinit_write_resolv_conf": "yes", "cloudinit_dns_servers": ["10.0.0.1"]})) == 2


def test_seed_write_files_errors():
    with pytest.raises(AnsibleFilterError, match="^h1: cloudinit_dns_servers must be a list, not str"):
        seed_write_files({"cloudinit_write_resolv_conf": True, "cloudinit_dns_servers": "10.0.0.1"}, "h1")
    with pytest.raises(AnsibleFilterError, match="^h1: cloudinit_write_files must be a list, not dict"):
        seed_write_files({"cloudinit_write_files": {"path": "/x"}}, "h1")
    with pytest.raises(AnsibleFilterError, match="^h1: cloudinit_write_resolv_conf must be a boolean, not 'maybe'"):
        seed_write_files({"cloudinit_write_resolv_conf": "maybe", "cloudinit_dns_servers": ["10.0.0.1"]}, "h1")


# --- deprecated_variable ----------------------------------------------------------------------------------


def test_deprecated_variable(monkeypatch):
    calls = []
    monkeypatch.setattr(fleet.display, "deprecated", lambda msg, **kwargs: calls.append((msg, kwargs)))
    assert deprecated_variable(2, "site_iso_parallel", 2) == ""
    assert deprecated_variable("2", "site_iso_parallel", 2) == ""  # -e site_iso_parallel=2
    assert calls == []
    msg = deprecated_variable(4, "site_iso_parallel", 2, "remove it")
    assert msg == "site_iso_parallel is deprecated and has no effect (it is set to 4); remove it"
    assert calls == [(msg, {"version": "1.0.0", "collection_name": "liveiso.customizer"})]


# --- the plugin and its documentation ---------------------------------------------------------------------


def test_every_filter_is_documented_as_ansible_doc_reads_it():
    filters = fleet.FilterModule().filters()
    docs = {name[:-4] for name in os.listdir(FILTER_DIR) if name.endswith(".yml")}
    assert docs == set(filters)
    for name, func in filters.items():
        with open(os.path.join(FILTER_DIR, name + ".yml")) as handle:
            doc = yaml.safe_load(handle)
        assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, name
        documentation = doc["DOCUMENTATION"]
        assert documentation["name"] == name and documentation["short_description"]
        params = list(inspect.signature(func).parameters)
        positional = [p.strip() for p in documentation["positional"].split(",")]
        assert positional[0] == "_input" and positional[1:] == params[1:len(positional)], name
        assert set(documentation["options"]) == {"_input"} | set(params[1:]), name
        assert "_value" in doc["RETURN"], name
