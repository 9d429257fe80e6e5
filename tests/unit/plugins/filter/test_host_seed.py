# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/filter/fleet.py: host_variables, host_seed, seed_secrets, site_secrets_warning.

Each case of issue 16 that rendered a seed that validates and then does the wrong thing at boot (or failed with a
raw Jinja error) is checked here: the values keep their types, every host variable is checked before rendering
with a message that names the host and the variable, and the new keys render what cloud-init reads.
"""

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.liveiso.customizer.plugins.filter import fleet
from ansible_collections.liveiso.customizer.plugins.filter.fleet import (
    host_seed,
    host_variables,
    seed_secrets,
    site_secrets_warning,
)

NIC0 = {"name": "nic0", "mac": "52:54:00:aa:00:01"}
NIC1 = {"name": "nic1", "mac": "52:54:00:aa:00:02"}


def fails(hostvars, *needles, host="web1", unknown="error"):
    with pytest.raises(AnsibleFilterError) as info:
        host_seed(hostvars, host, unknown)
    for needle in needles:
        assert needle in str(info.value), str(info.value)
    return str(info.value)


def roundtrip(value):
    """What the role's templates do: to_nice_yaml of the data, read back."""
    return yaml.safe_load(yaml.safe_dump(value))


# --- types: nothing changes on the way ---------------------------------------------------------------------


def test_hostname_that_looks_like_a_number_stays_a_string():
    seed = host_seed({"cloudinit_hostname": "0123"}, "web1")
    assert roundtrip(seed["user_data"])["hostname"] == "0123"
    assert roundtrip(seed["meta_data"]) == {"local-hostname": "0123"}


def test_hostname_that_yaml_read_as_a_number_fails_telling_to_quote_it():
    fails({"cloudinit_hostname": 83}, "web1: cloudinit_hostname must be a string, not the integer 83", "quote it")


def test_groups_as_a_comma_separated_string_are_groups_not_characters():
    seed = host_seed({"cloudinit_users": [{"name": "ops", "groups": "sudo, adm"}]}, "web1")
    assert seed["user_data"]["users"][1]["groups"] == "sudo,adm"
    seed = host_seed({"cloudinit_users": [{"name": "ops", "groups": ["sudo", "adm"]}]}, "web1")
    assert seed["user_data"]["users"][1]["groups"] == "sudo,adm"
    fails({"cloudinit_users": [{"name": "ops", "groups": [1]}]}, "web1: cloudinit_users[0].groups[0] must be a string")


@pytest.mark.parametrize("value, expected", [("false", False), ("no", False), ("true", True), (False, False),
                                             ("yes", True), (0, False)])
def test_dhcp4_given_as_a_string_is_read_as_a_boolean(value, expected):
    net = host_seed({"cloudinit_interfaces": [dict(NIC0, dhcp4=value)]}, "web1")["network_config"]
    assert net["ethernets"]["nic0"]["dhcp4"] is expected


def test_a_boolean_that_is_no_boolean_fails():
    fails({"cloudinit_interfaces": [dict(NIC0, dhcp4="maybe")]},
          "web1: cloudinit_interfaces[0].dhcp4 must be a boolean", "'maybe'")
    fails({"cloudinit_ssh_pwauth": "sometimes"}, "web1: cloudinit_ssh_pwauth must be a boolean")


def test_mac_that_yaml_read_as_base60_integer_fails_with_the_quoted_form():
    number = yaml.safe_load("mac: 52:54:00:10:00:01")["mac"]
    assert isinstance(number, int)
    fails({"cloudinit_mac": number}, "web1: cloudinit_mac is the integer", 'cloudinit_mac: "52:54:00:10:00:01"')
    fails({"cloudinit_interfaces": [{"name": "nic0", "mac": number}]}, "cloudinit_interfaces[0].mac is the integer",
          'mac: "52:54:00:10:00:01"')


def test_mac_format():
    fails({"cloudinit_interfaces": [{"name": "nic0", "mac": "52:54:00:10:00"}]},
          "cloudinit_interfaces[0].mac is '52:54:00:10:00', not a MAC address")
    net = host_seed({"cloudinit_interfaces": [{"name": "nic0", "mac": "52-54-00-AA-00-01"}]}, "web1")["network_config"]
    assert net["ethernets"]["nic0"]["match"] == {"macaddress": "52:54:00:aa:00:01"}


def test_wrong_container_types_fail_naming_the_variable():
    fails({"cloudinit_users": {"name": "ops"}}, "web1: cloudinit_users must be a list, not a mapping")
    fails({"cloudinit_interfaces": "nic0"}, "web1: cloudinit_interfaces must be a list")
    fails({"cloudinit_dns_servers": "10.0.2.3"}, "web1: cloudinit_dns_servers must be a list")
    fails({"cloudinit_interfaces": [dict(NIC0, mtu="big")]}, "cloudinit_interfaces[0].mtu must be an integer")
    fails({"cloudinit_interfaces": [dict(NIC0, mtu=10)]}, "cloudinit_interfaces[0].mtu is 10, not an MTU")


def test_addresses_and_gateways_are_checked():
    fails({"cloudinit_interfaces": [dict(NIC0, addresses=["10.0.2.21"])]}, "give the prefix length")
    fails({"cloudinit_interfaces": [dict(NIC0, addresses=["10.0.2.300/24"])]}, "not an IP address with a prefix")
    fails({"cloudinit_interfaces": [dict(NIC0, addresses=["10.0.2.21/24"], gateway4="fd00::1")]},
          "cloudinit_interfaces[0].gateway4 is 'fd00::1', not an IPv4 address")
    fails({"cloudinit_interfaces": [dict(NIC0, addresses=["fd00::5/64"], gateway6="10.0.2.2")]}, "not an IPv6")
    fails({"cloudinit_interfaces": [dict(NIC0, routes=[{"to": "10.9.0.0/16"}])]},
          "cloudinit_interfaces[0].routes[0] needs 'via'")


# --- references and required keys ----------------------------------------------------------------------------


def test_vlan_without_id_or_link_is_a_clear_error():
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_vlans": [{"name": "v10", "link": "nic0"}]},
          "web1: cloudinit_vlans[0] needs 'id'")
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_vlans": [{"name": "v10", "id": 10}]},
          "web1: cloudinit_vlans[0] needs 'link'")
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_vlans": [{"name": "v10", "id": 5000, "link": "nic0"}]},
          "cloudinit_vlans[0].id is 5000")


def test_members_and_links_must_exist():
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_bonds": [{"name": "bond0", "interfaces": ["nic0", "nic9"]}]},
          "web1: cloudinit_bonds[0].interfaces names 'nic9', which is not an interface")
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_bridges": [{"name": "br0", "interfaces": ["eth7"]}]},
          "cloudinit_bridges[0].interfaces names 'eth7'")
    fails({"cloudinit_interfaces": [NIC0], "cloudinit_vlans": [{"name": "v10", "id": 10, "link": "bond7"}]},
          "cloudinit_vlans[0].link is 'bond7', which is not an interface, bond or bridge")
    fails({"cloudinit_interfaces": [NIC0, dict(NIC1, name="nic0")]}, "cloudinit_interfaces[1] is named 'nic0'")


def test_unknown_keys_and_variables_are_reported_not_dropped(monkeypatch):
    fails({"cloudinit_interfaces": [dict(NIC0, adresses=["10.0.2.5/24"])]},
          "cloudinit_interfaces[0] has an unknown key 'adresses'", "did you mean addresses")
    fails({"cloudinit_users": [{"name": "ops", "pasword": "x"}]}, "cloudinit_users[0] has an unknown key 'pasword'")
    fails({"cloudinit_ntp_server": ["a"]}, "web1: cloudinit_ntp_server is not a variable of the cloud-init seed",
          "did you mean cloudinit_ntp_servers")
    warnings = []
    monkeypatch.setattr(fleet.display, "warning", warnings.append)
    host_seed({"cloudinit_ntp_server": ["a"]}, "web1", "warn")
    assert len(warnings) == 1 and "cloudinit_ntp_server" in warnings[0]
    host_seed({"cloudinit_ntp_server": ["a"]}, "web1", "ignore")
    assert len(warnings) == 1
    # the roles' own variables are not host variables
    assert host_variables({"cloudinit_config_dir": "/x", "cloudinit_config_seed": {}}, "web1") == {}
    with pytest.raises(AnsibleFilterError, match="must be one of error, warn, ignore"):
        host_seed({}, "web1", "loud")


def test_bridges_are_rendered_no_longer_dropped():
    net = host_seed({"cloudinit_interfaces": [NIC0, NIC1],
                     "cloudinit_bridges": [{"name": "br0", "interfaces": ["nic0", "nic1"], "addresses": ["10.0.2.7/24"],
                                            "gateway4": "10.0.2.2", "parameters": {"stp": False}}]},
                    "web1")["network_config"]
    assert net["bridges"] == {"br0": {"interfaces": ["nic0", "nic1"], "parameters": {"stp": False},
                                      "addresses": ["10.0.2.7/24"], "gateway4": "10.0.2.2"}}
    assert net["ethernets"]["nic0"] == {"match": {"macaddress": "52:54:00:aa:00:01"}, "set-name": "nic0",
                                        "dhcp4": False}


def test_ipv6_mtu_routes_dns_overrides_optional():
    iface = dict(NIC0, dhcp4="yes", dhcp6=False, addresses=["fd00:10::5/64"], gateway6="fd00:10::1", mtu="9000",
                 accept_ra=False, optional=True, dhcp4_overrides={"use_dns": "false", "route-metric": 200},
                 routes=[{"to": "10.9.0.0/16", "via": "10.0.2.1", "metric": 50}], dns_servers=["10.0.2.53"],
                 dns_search=["lan.example"])
    seed = host_seed({"cloudinit_interfaces": [iface], "cloudinit_dns_servers": ["10.0.2.3"]}, "web1")
    nic = roundtrip(seed["network_config"])["ethernets"]["nic0"]
    assert nic == {"match": {"macaddress": "52:54:00:aa:00:01"}, "set-name": "nic0", "dhcp4": True,
                   "addresses": ["fd00:10::5/64"], "gateway6": "fd00:10::1", "mtu": 9000, "accept-ra": False,
                   "optional": True, "dhcp4-overrides": {"use-dns": False, "route-metric": 200},
                   "routes": [{"to": "10.9.0.0/16", "via": "10.0.2.1", "metric": 50}],
                   "nameservers": {"addresses": ["10.0.2.53"], "search": ["lan.example"]}}
    fails({"cloudinit_interfaces": [dict(NIC0, dhcp4_overrides={"use_everything": True})]},
          "dhcp4_overrides has an unknown key 'use-everything'")


def test_bond_and_vlan():
    net = host_seed({"cloudinit_interfaces": [NIC0, NIC1],
                     "cloudinit_bonds": [{"name": "bond0", "interfaces": ["nic0", "nic1"], "mode": "802.3ad"}],
                     "cloudinit_vlans": [{"name": "v10", "id": "10", "link": "bond0", "addresses": ["10.10.0.5/24"]}]},
                    "web1")["network_config"]
    assert net["bonds"] == {"bond0": {"interfaces": ["nic0", "nic1"], "parameters": {"mode": "802.3ad"}}}
    assert net["vlans"] == {"v10": {"id": 10, "link": "bond0", "addresses": ["10.10.0.5/24"]}}


def test_default_network_is_dhcp_matched_by_mac_or_nothing():
    net = host_seed({"cloudinit_mac": "52:54:00:10:00:01", "cloudinit_dns_servers": ["10.0.2.3"]}, "dhcp-a1")
    assert net["network_config"] == {"version": 2, "ethernets": {"dhcp0": {
        "match": {"macaddress": "52:54:00:10:00:01"}, "dhcp4": True,
        "nameservers": {"addresses": ["10.0.2.3"], "search": []}}}}
    assert host_seed({}, "dhcp-a1")["network_config"] is None
    assert host_seed({"cloudinit_mac": ""}, "dhcp-a1")["network_config"] is None


# --- user-data keys ------------------------------------------------------------------------------------------


def test_packages_apt_yum_ca_certs_ntp():
    ud = host_seed({
        "cloudinit_packages": ["curl", ["hello", "2.10-3"]], "cloudinit_package_update": "yes",
        "cloudinit_package_upgrade": False, "cloudinit_apt_proxy": "http://proxy:3128",
        "cloudinit_apt_mirror": "http://mirror/debian", "cloudinit_apt": {"preserve_sources_list": True},
        "cloudinit_apt_sources": {"site": {"source": "deb http://repo/site bookworm main"}},
        "cloudinit_yum_repos": {"site": {"baseurl": "http://repo/el9", "enabled": True}},
        "cloudinit_ca_certs": ["-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n"],
        "cloudinit_ntp_servers": ["ntp1"], "cloudinit_ntp_pools": ["pool.ntp.org"], "cloudinit_ntp_client": "chrony",
    }, "web1")["user_data"]
    assert ud["packages"] == ["curl", ["hello", "2.10-3"]]
    assert ud["package_update"] is True and ud["package_upgrade"] is False
    assert ud["apt"] == {"preserve_sources_list": True, "proxy": "http://proxy:3128",
                         "primary": [{"arches": ["default"], "uri": "http://mirror/debian"}],
                         "sources": {"site": {"source": "deb http://repo/site bookworm main"}}}
    assert ud["yum_repos"] == {"site": {"baseurl": "http://repo/el9", "enabled": True}}
    assert ud["ca_certs"] == {"trusted": ["-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n"]}
    assert ud["ntp"] == {"enabled": True, "servers": ["ntp1"], "pools": ["pool.ntp.org"], "ntp_client": "chrony"}


def test_users_default_user_chpasswd_groups():
    users = [{"name": "ops", "hashed_password": "$6$x$y", "uid": "1500"}, "guest"]
    ud = host_seed({"cloudinit_users": users}, "web1")["user_data"]
    assert ud["users"] == ["default", {"name": "ops", "shell": "/bin/bash", "uid": 1500, "passwd": "$6$x$y",
                                       "lock_passwd": False},
                           {"name": "guest", "shell": "/bin/bash", "lock_passwd": True}]
    ud = host_seed({"cloudinit_users": users, "cloudinit_default_user": "false"}, "web1")["user_data"]
    assert ud["users"][0]["name"] == "ops"
    assert host_seed({"cloudinit_default_user": False}, "web1")["user_data"]["users"] == []
    assert "users" not in host_seed({}, "web1")["user_data"]
    ud = host_seed({"cloudinit_chpasswd": {"expire": False, "users": [{"name": "ops", "password": "x"}]},
                    "cloudinit_groups": ["admins", {"ops": "alice,bob"}]}, "web1")["user_data"]
    assert ud["chpasswd"] == {"expire": False, "users": [{"name": "ops", "password": "x"}]}
    assert ud["groups"] == ["admins", {"ops": ["alice", "bob"]}]


def test_power_state_disks_mounts_growpart_vendor_data():
    seed = host_seed({
        "cloudinit_power_state": {"mode": "reboot", "delay": "now"},
        "cloudinit_disk_setup": {"/dev/vdb": {"table_type": "gpt", "layout": True}},
        "cloudinit_fs_setup": [{"device": "/dev/vdb1", "filesystem": "ext4", "label": "data"}],
        "cloudinit_mounts": [["LABEL=data", "/data", "ext4", "defaults", 0, 2]],
        "cloudinit_growpart": {"mode": "auto", "devices": ["/"]},
        "cloudinit_vendor_data": {"runcmd": [["echo", "vendor"]]},
    }, "web1")
    ud = seed["user_data"]
    assert ud["power_state"] == {"mode": "reboot", "delay": "now"}
    assert ud["mounts"] == [["LABEL=data", "/data", "ext4", "defaults", "0", "2"]]
    assert ud["fs_setup"][0]["label"] == "data" and ud["growpart"]["mode"] == "auto"
    assert seed["vendor_data"] == {"runcmd": [["echo", "vendor"]]}
    assert host_seed({}, "web1")["vendor_data"] is None
    fails({"cloudinit_power_state": {"mode": "sleep"}}, "web1: cloudinit_power_state.mode must be one of")
    fails({"cloudinit_mounts": [["a", "b", "c", "d", "e", "f", "g"]]}, "cloudinit_mounts[0] has 7 fields")


def test_extra_dicts_are_deep_merged():
    seed = host_seed({"cloudinit_ntp_servers": ["ntp1"], "cloudinit_interfaces": [dict(NIC0, dhcp4=True)],
                      "cloudinit_user_data_extra": {"ntp": {"ntp_client": "systemd-timesyncd"}, "locale": "C.UTF-8",
                                                    "hostname": "other"},
                      "cloudinit_network_config_extra": {"ethernets": {"nic0": {"wakeonlan": True}}}}, "web1")
    assert seed["user_data"]["ntp"] == {"enabled": True, "servers": ["ntp1"], "ntp_client": "systemd-timesyncd"}
    assert seed["user_data"]["locale"] == "C.UTF-8" and seed["user_data"]["hostname"] == "other"
    assert seed["network_config"]["ethernets"]["nic0"]["wakeonlan"] is True
    assert seed["network_config"]["ethernets"]["nic0"]["dhcp4"] is True
    fails({"cloudinit_user_data_extra": ["locale"]}, "web1: cloudinit_user_data_extra must be a mapping")
    # with no network-config of its own, the extra one gets version 2
    seed = host_seed({"cloudinit_network_config_extra": {"ethernets": {"e": {"dhcp4": True}}}}, "w")
    assert seed["network_config"] == {"version": 2, "ethernets": {"e": {"dhcp4": True}}}


# --- secrets -----------------------------------------------------------------------------------------------


def test_seed_secrets_finds_places_not_values():
    assert seed_secrets({"cloudinit_users": [{"name": "ops", "ssh_authorized_keys": ["ssh-ed25519 AAA"]}]}, "a") == []
    found = seed_secrets({
        "cloudinit_users": [{"name": "ops", "hashed_password": "$6$secret"}],
        "cloudinit_write_files": [{"path": "/etc/x.key", "content": "-----BEGIN PRIVATE KEY-----\nabc\n"}],
        "cloudinit_vendor_data": {"chpasswd": {"users": [{"name": "root", "password": "pw"}]}},
    }, "a")
    assert found == ["user-data users[1].passwd", "user-data write_files[0].content", "vendor-data chpasswd"]
    assert "$6$secret" not in " ".join(found)


def test_site_secrets_warning(monkeypatch):
    warnings = []
    monkeypatch.setattr(fleet.display, "warning", warnings.append)
    hostvars = {"a": {"cloudinit_users": [{"name": "ops", "hashed_password": "$6$s"}]}, "b": {}, "c": {}}
    units = [{"name": "site_x", "site": "site_x", "hosts": ["a", "b"]}]
    msg = site_secrets_warning(units, hostvars)
    assert warnings == [msg] and "site_x: a (user-data users[1].passwd)" in msg
    assert "site_iso_per: host" in msg and "fetched at boot" in msg and "$6$s" not in msg
    # one host per ISO, or no secrets: nothing to warn about
    assert site_secrets_warning([{"name": "a", "site": "site_x", "hosts": ["a"]}], hostvars) == ""
    assert site_secrets_warning([{"name": "site_y", "site": "site_y", "hosts": ["b", "c"]}], hostvars) == ""
    assert len(warnings) == 1
