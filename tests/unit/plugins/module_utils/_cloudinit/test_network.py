# SPDX-License-Identifier: GPL-3.0-or-later
"""network.py: version 1 and version 2 network-config checked offline, with the key path in every message."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import network
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.network import NetworkV2Key
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import SeedError, render_seed

MAC = "52:54:00:12:34:56"
V1_FULL = {"version": 1, "config": [
    {"type": "physical", "name": "eth0", "mac_address": MAC, "mtu": 1500,
     "subnets": [{"type": "static", "address": "192.0.2.10/24", "gateway": "192.0.2.1",
                  "dns_nameservers": ["192.0.2.53"], "routes": [{"gateway": "192.0.2.254", "network": "10.0.0.0",
                                                                 "netmask": "255.0.0.0"}]},
                 {"type": "ipv6_slaac"}]},
    {"type": "physical", "name": "eth1", "mac_address": "52:54:00:12:34:57"},
    {"type": "physical", "name": "eth2"},
    {"type": "bond", "name": "bond0", "bond_interfaces": ["eth1", "eth2"], "params": {"bond-mode": "active-backup"},
     "subnets": [{"type": "dhcp4"}]},
    {"type": "bridge", "name": "br0", "bridge_interfaces": ["bond0"], "params": {"bridge_stp": "off"}},
    {"type": "vlan", "name": "eth0.10", "vlan_link": "eth0", "vlan_id": 10, "subnets": [{"type": "dhcp"}]},
    {"type": "nameserver", "address": ["192.0.2.53"], "search": ["example.com"], "interface": "eth0"},
    {"type": "route", "destination": "198.51.100.0/24", "gateway": "192.0.2.1", "metric": 3},
    {"type": "loopback", "name": "lo"},
]}
V2_FULL = {"version": 2, "renderer": "networkd",
           "ethernets": {"uplink": {"match": {"macaddress": MAC}, "set-name": "uplink", "dhcp4": False,
                                    "addresses": ["192.0.2.10/24", {"2001:db8::10/64": {"label": "x"}}],
                                    "routes": [{"to": "default", "via": "192.0.2.1"}], "mtu": 9000,
                                    "nameservers": {"addresses": ["192.0.2.53"], "search": ["example.com"]},
                                    "dhcp4-overrides": {"use-dns": False}, "optional": True, "accept-ra": False},
                         "eth1": {}, "eth2": {"match": {"name": "en*", "driver": ["virtio_net"]}}},
           "bonds": {"bond0": {"interfaces": ["eth1", "eth2"], "parameters": {"mode": "802.3ad"}}},
           "bridges": {"br0": {"interfaces": ["bond0"], "dhcp6": True}},
           "vlans": {"vlan10": {"id": 10, "link": "uplink"}},
           "tunnels": {"gre1": {"mode": "gre", "local": "192.0.2.10", "remote": "198.51.100.1"}},
           "vrfs": {"vrf1": {"table": 1001, "interfaces": ["br0"]}}}


def error_of(config):
    with pytest.raises(SeedError) as info:
        render_seed(network_config=config)
    assert info.value.file == "network-config"
    return str(info.value)


@pytest.mark.parametrize("config", [V1_FULL, V2_FULL, {"network": V2_FULL}, {"network": V1_FULL},
                                    {"network": {"config": "disabled"}}, {"config": "disabled"}],
                         ids=["v1", "v2", "v2-wrapped", "v1-wrapped", "disabled-wrapped", "disabled"])
def test_full_configs_pass(config):
    assert "network-config" in render_seed(network_config=config)


def test_v2_returns_its_sections_netplan_only_ones_marked():
    sections = network.check_network(V2_FULL)
    assert {section for section in sections if section.netplan_only} == {NetworkV2Key.TUNNELS, NetworkV2Key.VRFS}
    assert network.check_network(V1_FULL) == set() and network.is_disabled({"network": {"config": "disabled"}})


def v1_with(index, **changes):
    config = {"version": 1, "config": [dict(entry) for entry in V1_FULL["config"]]}
    config["config"][index].update(changes)
    for key, value in changes.items():
        if value is None:
            del config["config"][index][key]
    return config


V1_ERRORS = [
    (v1_with(0, mac_address="52:54:00:12:34"),
     "config[0].mac_address: must be a MAC address such as '52:54:00:12:34:56', got '52:54:00:12:34'"),
    (v1_with(0, mac_address=3156541252), "an unquoted MAC in YAML can load as a number: quote it"),
    (v1_with(0, mtu="1500"), "config[0].mtu: must be an integer, got '1500' (a string)"),
    (v1_with(0, ip="x"), "config[0].ip: unknown key. Known here: accept-ra, keep_configuration, mac_address, "
                         "mtu, name, params, subnets, type, wakeonlan."),
    (v1_with(0, subnets=[{"type": "static"}]), "config[0].subnets[0]: a static subnet needs 'address'"),
    (v1_with(0, subnets=[{"type": "dhcp5"}]), "config[0].subnets[0].type: must be one of dhcp4, dhcp, dhcp6"),
    (v1_with(0, subnets=[{"type": "dhcp", "dns": ["x"]}]), "config[0].subnets[0].dns: unknown key"),
    (v1_with(0, subnets=[{"type": "static", "address": "192.0.2.1/24", "routes": [{"network": "10.0.0.0/8"}]}]),
     "config[0].subnets[0].routes[0]: a route needs 'gateway'"),
    (v1_with(0, subnets="dhcp"), "config[0].subnets: must be a list of mappings, got 'dhcp'"),
    (v1_with(3, params=None), "config[3]: a bond needs 'params'"),
    (v1_with(3, bond_interfaces=["eth1", "eth9"]), "config[3].bond_interfaces: 'eth9' is no interface of this "
                                                   "config. Known: bond0, br0, eth0, eth0.10, eth1, eth2, lo."),
    (v1_with(3, bond_interfaces="eth1,eth2"), "config[3].bond_interfaces: must be a list of strings"),
    (v1_with(4, bridge_interfaces=None), "config[4]: a bridge needs 'bridge_interfaces'"),
    (v1_with(5, vlan_id="10"), "config[5].vlan_id: must be an integer 0-4094, got '10' (a string)"),
    (v1_with(5, vlan_id=5000), "config[5].vlan_id: must be an integer 0-4094, got 5000"),
    (v1_with(5, vlan_link="eth7"), "config[5].vlan_link: 'eth7' is no interface of this config"),
    (v1_with(5, vlan_link=None), "config[5]: a vlan needs 'vlan_link'"),
    (v1_with(6, address=None), "config[6]: a nameserver needs 'address'"),
    (v1_with(6, interface="eth5"), "config[6].interface: 'eth5' is no interface of this config"),
    (v1_with(7, destination=None, network="198.51.100.0/24"), "config[7]: a route needs 'destination'"),
    (v1_with(1, name="eth0"), "config[1].name: 'eth0' is already config[0]"),
    (dict(V1_FULL, routes=[]), "unknown version 1 key 'routes'. Known: config, version."),
]


@pytest.mark.parametrize("config,message", V1_ERRORS)
def test_v1_errors_name_the_key_path(config, message):
    assert message in error_of(config)


def v2_with(section, name, **changes):
    config = {key: (dict((n, dict(i)) for n, i in value.items()) if isinstance(value, dict) else value)
              for key, value in V2_FULL.items()}
    config[section][name].update(changes)
    for key, value in changes.items():
        if value is None:
            del config[section][name][key]
    return config


V2_ERRORS = [
    (v2_with("ethernets", "uplink", dhcp4="false"), "ethernets.uplink.dhcp4: must be true or false, got 'false' "
                                                    "(a string)"),
    (v2_with("ethernets", "uplink", match={"macaddress": "52-54-00-12-34-56"}),
     "ethernets.uplink.match: macaddress: must be a MAC address"),
    (v2_with("ethernets", "uplink", match={"mac": MAC}), "ethernets.uplink.match: has unknown key 'mac'"),
    (v2_with("ethernets", "uplink", macaddress=52), "ethernets.uplink.macaddress: must be a MAC address"),
    (v2_with("ethernets", "uplink", gateway="192.0.2.1"), "ethernets.uplink.gateway: unknown key. Known here: "),
    (v2_with("ethernets", "uplink", addresses="192.0.2.10/24"), "ethernets.uplink.addresses: must be a list of "
                                                                "addresses"),
    (v2_with("ethernets", "uplink", routes=[{"via": "192.0.2.1"}]), "ethernets.uplink.routes: [0] needs 'to'"),
    (v2_with("ethernets", "uplink", routes=[{"to": "default", "gw": "x"}]),
     "ethernets.uplink.routes: [0] has unknown key 'gw'"),
    (v2_with("ethernets", "uplink", nameservers={"servers": ["x"]}),
     "ethernets.uplink.nameservers: has unknown key 'servers'"),
    (v2_with("ethernets", "uplink", nameservers={"addresses": "192.0.2.53"}),
     "ethernets.uplink.nameservers: addresses: must be a list of strings"),
    (v2_with("bonds", "bond0", interfaces=["eth1", "eth8"]), "bonds.bond0.interfaces: 'eth8' is no interface of "
                                                             "this config. Known: "),
    (v2_with("bonds", "bond0", interfaces=["bond0"]), "bonds.bond0.interfaces: refers to itself"),
    (v2_with("bridges", "br0", interfaces=["nope"]), "bridges.br0.interfaces: 'nope' is no interface"),
    (v2_with("vlans", "vlan10", link="eth9"), "vlans.vlan10.link: 'eth9' is no interface of this config"),
    (v2_with("vlans", "vlan10", id="10"), "vlans.vlan10.id: must be an integer 0-4094, got '10' (a string)"),
    (v2_with("vrfs", "vrf1", table=None), "vrfs.vrf1: a vrf entry needs 'table'"),
    (v2_with("vrfs", "vrf1", interfaces=["ghost"]), "vrfs.vrf1.interfaces: 'ghost' is no interface"),
    (v2_with("tunnels", "gre1", mode=None), "tunnels.gre1: a tunnel entry needs 'mode'"),
    (v2_with("bridges", "br0", id=4), "bridges.br0.id: unknown key"),
    (dict(V2_FULL, renderer="eni"), "renderer: must be networkd or NetworkManager, got 'eni'"),
    (dict(V2_FULL, bridges={"eth1": {}}), "bridges.eth1: 'eth1' is already defined in ethernets"),
]


@pytest.mark.parametrize("config,message", V2_ERRORS)
def test_v2_errors_name_the_key_path(config, message):
    assert message in error_of(config)


def test_version_must_be_an_integer_not_a_bool():
    assert "version must be 1 or 2, got True" in error_of({"version": True, "config": []})


@pytest.mark.parametrize("mac,ok", [(MAC, True), ("52:54:00:AB:CD:EF", True), ("52:54:00:12:34:56:78:9a", True),
                                    (":".join(["a0"] * 20), True), ("52:54:00:12:34:5", False),
                                    ("5254.0012.3456", False), ("", False)])
def test_mac_format(mac, ok):
    assert (network._mac(mac) is None) is ok
