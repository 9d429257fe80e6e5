# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify a static host and a DHCP host, each booted from its site's ISO, over SSH (pytest-testinfra)."""

import json

EXPECTED = {
    "static-b1": {"site": "site_static", "address": "10.0.2.21/24", "mac": "52:54:00:20:00:01", "dhcp": False},
    "dhcp-a1": {"site": "site_dhcp", "address": "10.0.2.15/24", "mac": "52:54:00:10:00:01", "dhcp": True},
}


def name_of(host):
    return host.backend.get_hostname()


def test_hostname_is_this_hosts(host):
    assert host.check_output("hostname") == name_of(host)
    assert host.check_output("hostname -f") == name_of(host) + ".fleet.example.net"


def link_with_mac(host, mac):
    links = [link for link in json.loads(host.check_output("ip -j addr show")) if link.get("address") == mac]
    assert len(links) == 1, "no single interface has MAC %s" % mac
    return links[0]


def test_address_on_the_matched_interface(host):
    """The static host: its address on lan0 (renamed by MAC). The DHCP host (no interfaces in the inventory):
    a lease on the NIC with its MAC, under the kernel's own name, from the role's default network-config."""
    expected = EXPECTED[name_of(host)]
    link = link_with_mac(host, expected["mac"])
    addresses = {"%s/%s" % (a["local"], a["prefixlen"]): a for a in link["addr_info"] if a["family"] == "inet"}
    assert expected["address"] in addresses, addresses
    if expected["dhcp"]:
        assert link["ifname"].startswith("en"), link["ifname"]
        lease = host.run("sudo cat /var/lib/dhcp/dhclient.%s.leases" % link["ifname"])
        assert lease.rc == 0 and "fixed-address 10.0.2.15;" in lease.stdout
    else:
        assert link["ifname"] == "lan0"
        assert not addresses[expected["address"]].get("dynamic")
    assert "default via 10.0.2.2 dev %s" % link["ifname"] in host.check_output("ip route")
    interfaces = host.check_output("cat /etc/network/interfaces.d/50-cloud-init")
    assert ("iface %s inet dhcp" % link["ifname"] in interfaces) is expected["dhcp"], interfaces


def test_cloud_init_network_table(host):
    """cloud-init's own table (the bug report's symptom: 'enp0s2 | False | . |') shows the NIC up."""
    expected = EXPECTED[name_of(host)]
    rows = [line for line in host.check_output("sudo cat /var/log/cloud-init-output.log").splitlines()
            if expected["mac"] in line]
    assert rows and all("| True |" in row for row in rows), rows


def test_user_and_key(host):
    ops = host.user("ops")
    assert ops.exists and "sudo" in ops.groups
    keys = host.file("/home/ops/.ssh/authorized_keys")
    assert keys.exists and "molecule" in keys.content_string
    assert host.run("sudo -n true").rc == 0


def test_files_and_packages_from_user_data(host):
    assert host.package("hello").is_installed  # installed by cloud-init from the mirror at first boot
    assert host.run("hello").stdout.strip() == "Hello, world!"
    assert host.file("/etc/fleet-site").content_string == EXPECTED[name_of(host)]["site"] + "\n"
    assert host.file("/etc/timezone").content_string.strip() == "UTC"
    resolv = host.file("/etc/resolv.conf").content_string
    if EXPECTED[name_of(host)]["dhcp"]:  # written by dhclient from the lease, with the site's DNS superseding it
        lines = [line.rstrip(".") for line in resolv.splitlines()]  # dhclient writes domain-search absolute
        assert {"nameserver 10.0.2.3", "search fleet.example.net"} <= set(lines), resolv
        assert [line for line in lines if line.startswith("nameserver")] == ["nameserver 10.0.2.3"], resolv
    else:
        assert resolv == "nameserver 10.0.2.3\nsearch fleet.example.net\n"


def test_live_system_and_seed(host):
    assert host.check_output("findmnt -n -o SOURCE,FSTYPE /") == "LiveOS_rootfs overlay"
    seed = host.check_output("readlink -f /var/lib/cloud/seed/nocloud")
    mac = EXPECTED[name_of(host)]["mac"].replace(":", "-")
    assert seed == "/run/initramfs/live/cloud-init-data/by-mac/" + mac
    assert name_of(host) in host.file("/run/initramfs/live/cloud-init-data/hosts.txt").content_string


def test_cloud_init_done_without_errors(host):
    status = host.run("cloud-init status --long")
    assert status.rc == 0, status.stdout
    assert "status: done" in status.stdout
    result = json.loads(host.check_output("sudo cat /run/cloud-init/result.json"))
    assert result["v1"]["errors"] == []
