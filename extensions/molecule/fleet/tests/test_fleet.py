"""Verify both hosts of the static site, booted from the same site ISO, over SSH (pytest-testinfra)."""

import json

EXPECTED = {
    "static-b1": {"address": "10.0.2.21/24", "mac": "52:54:00:20:00:01"},
    "static-b2": {"address": "10.0.2.22/24", "mac": "52:54:00:20:00:02"},
}


def name_of(host):
    return host.backend.get_hostname()


def test_hostname_is_this_hosts(host):
    assert host.check_output("hostname") == name_of(host)
    assert host.check_output("hostname -f") == name_of(host) + ".fleet.example.net"


def test_static_address_on_the_matched_interface(host):
    expected = EXPECTED[name_of(host)]
    link = json.loads(host.check_output("ip -j addr show dev lan0"))[0]
    assert link["address"] == expected["mac"]
    assert expected["address"] in ["%s/%s" % (a["local"], a["prefixlen"]) for a in link["addr_info"]]
    assert "default via 10.0.2.2" in host.check_output("ip route")


def test_user_and_key(host):
    ops = host.user("ops")
    assert ops.exists and "sudo" in ops.groups
    keys = host.file("/home/ops/.ssh/authorized_keys")
    assert keys.exists and "molecule" in keys.content_string
    assert host.run("sudo -n true").rc == 0


def test_files_and_packages_from_user_data(host):
    assert host.package("hello").is_installed  # installed by cloud-init from the mirror at first boot
    assert host.run("hello").stdout.strip() == "Hello, world!"
    assert host.file("/etc/fleet-site").content_string == "site_static\n"
    assert host.file("/etc/timezone").content_string.strip() == "UTC"
    assert host.file("/etc/resolv.conf").content_string == "nameserver 10.0.2.3\nsearch fleet.example.net\n"


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
