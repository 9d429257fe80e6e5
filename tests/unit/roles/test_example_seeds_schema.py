# SPDX-License-Identifier: GPL-3.0-or-later
"""Every seed the cloudinit_config role renders for the example inventory (and for a host that uses every new
variable: bridges, IPv6, MTU, routes, DHCP overrides, apt, yum, ca_certs, NTP pools, chpasswd, groups,
power_state, disks, vendor-data, the extra dicts) is accepted by cloud-init's own code: user-data and
vendor-data by its cloud-config JSON schema (strict), network-config by its parser and its ENI and networkd
renderers (net-convert), as the base image's cloud-init (Debian 12's package) has them. (Its networkd renderer
creates no bonds or bridges: asserted, so a newer cloud-init that does tells us to update docs/fleet.md.)

cloud-init's Python code comes from the Debian package the base image fixture downloaded
($LIVEISO_CACHE_DIR/debs), else from ``apt-get download cloud-init``; unpacked with dpkg-deb, no root. Its few
imports that the checks never call (requests, configobj, jsonpatch, netifaces) are stubbed.
"""

import glob
import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml

REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])
CACHE = os.environ.get("LIVEISO_CACHE_DIR", "/var/cache/liveiso-customizer")

RICH = {"all": {"children": {"site_rich": {"hosts": {
    "rich-1": {
        "cloudinit_hostname": "0123",
        "cloudinit_mac": "52:54:00:40:00:01",
        "cloudinit_interfaces": [
            {"name": "nic0", "mac": "52:54:00:40:00:01", "mtu": 1500, "optional": "no"},
            {"name": "nic1", "mac": "52:54:00:40:00:02"},
            {"name": "nic2", "mac": "52:54:00:40:00:03", "dhcp4": "true", "dhcp6": True, "accept_ra": True,
             "dhcp4_overrides": {"use_dns": False, "route_metric": 300}, "optional": True},
            {"name": "nic3", "mac": "52:54:00:40:00:04"},
        ],
        "cloudinit_bonds": [{"name": "bond0", "interfaces": ["nic0", "nic1"], "mode": "active-backup",
                             "addresses": ["10.0.2.41/24", "fd00:40::41/64"], "gateway4": "10.0.2.2",
                             "gateway6": "fd00:40::1",
                             "routes": [{"to": "10.40.0.0/16", "via": "10.0.2.1", "metric": 100}],
                             "dns_servers": ["10.0.2.3", "fd00:40::53"]}],
        "cloudinit_bridges": [{"name": "br0", "interfaces": ["nic3"], "addresses": ["192.168.40.1/24"],
                               "parameters": {"stp": False, "forward-delay": 0}}],
        "cloudinit_vlans": [{"name": "vlan40", "id": 40, "link": "bond0", "addresses": ["10.40.0.1/24"], "mtu": 1400}],
        "cloudinit_users": [{"name": "ops", "groups": "sudo,adm", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                             "hashed_password": "$6$rounds=4096$salt$hash", "uid": 1500}],
        "cloudinit_default_user": False,
        "cloudinit_groups": ["fleet", {"ops-team": ["ops"]}],
        "cloudinit_chpasswd": {"expire": False},
        "cloudinit_ssh_pwauth": "false",
        "cloudinit_packages": ["curl"],
        "cloudinit_package_update": True, "cloudinit_package_upgrade": False,
        "cloudinit_apt_proxy": "http://proxy.example.net:3128",
        "cloudinit_apt_mirror": "http://mirror.example.net/debian",
        "cloudinit_apt_sources": {"site": {"source": "deb http://repo.example.net/site bookworm main"}},
        "cloudinit_yum_repos": {"site": {"name": "Site", "baseurl": "http://repo.example.net/el9", "enabled": True}},
        "cloudinit_ca_certs": ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
        "cloudinit_ntp_servers": ["ntp1.example.net"], "cloudinit_ntp_pools": ["pool.ntp.org"],
        "cloudinit_ntp_client": "chrony",
        "cloudinit_power_state": {"mode": "reboot", "delay": "now", "message": "first boot done"},
        "cloudinit_disk_setup": {"/dev/vdb": {"table_type": "gpt", "layout": True, "overwrite": False}},
        "cloudinit_fs_setup": [{"device": "/dev/vdb", "partition": "auto", "filesystem": "ext4", "label": "data"}],
        "cloudinit_mounts": [["LABEL=data", "/data", "ext4", "defaults,nofail", 0, 2]],
        "cloudinit_growpart": {"mode": "auto", "devices": ["/"]},
        "cloudinit_vendor_data": {"runcmd": [["echo", "vendor"]]},
        "cloudinit_user_data_extra": {"locale": "C.UTF-8"},
        "cloudinit_network_config_extra": {"ethernets": {"nic2": {"wakeonlan": True}}},
    }}}}}}

CHECK = r'''
import glob, os, subprocess, sys, yaml
from cloudinit.config.schema import get_schema, validate_cloudconfig_schema
seeds, out = sys.argv[1], sys.argv[2]
schema = get_schema()
for host in sorted(os.listdir(seeds)):
    for name in ("user-data", "vendor-data"):
        path = os.path.join(seeds, host, name)
        if os.path.exists(path):
            with open(path) as handle:
                text = handle.read()
            assert text.startswith("#cloud-config\n"), (host, name)
            validate_cloudconfig_schema(yaml.safe_load(text), schema=schema, strict=True)
    net = os.path.join(seeds, host, "network-config")
    if os.path.exists(net):
        for kind in ("eni", "networkd"):
            dest = os.path.join(out, host, kind)
            subprocess.run([sys.executable, "-m", "cloudinit.cmd.devel.net_convert", "-p", net, "-k", "yaml",
                            "-d", dest, "-D", "debian", "-O", kind], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print("ok", host)
'''


def cloud_init_package(tmp_path):
    debs = sorted(glob.glob(os.path.join(CACHE, "debs", "cloud-init_*.deb")))
    if not debs:
        proc = subprocess.run(["apt-get", "download", "cloud-init"], cwd=str(tmp_path), check=False,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        debs = sorted(glob.glob(str(tmp_path / "cloud-init_*.deb")))
        if not debs:
            pytest.skip("no cloud-init package: none in %s/debs and apt-get download failed: %s"
                        % (CACHE, proc.stdout.decode()[-300:]))
    root = tmp_path / "cloud-init"
    subprocess.run(["dpkg-deb", "-x", debs[-1], str(root)], check=True)
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name in ("requests", "configobj", "jsonpatch", "netifaces"):
        (stubs / (name + ".py")).write_text("def __getattr__(name):\n    return type(name, (Exception,), {})\n")
    return "%s:%s" % (stubs, root / "usr" / "lib" / "python3" / "dist-packages")


def render(tmp_path):
    inventory = tmp_path / "rich.yml"
    inventory.write_text(yaml.safe_dump(RICH))
    playbook = tmp_path / "seeds.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "sites:site_rich", "gather_facts": False, "connection": "local",
        "tasks": [{"ansible.builtin.include_role": {"name": "liveiso.customizer.cloudinit_config"},
                   "vars": {"cloudinit_config_dir": str(tmp_path / "seeds")}}]}]))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i", os.path.join(REPO, "inventories", "example"), "-i", str(inventory), str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]
    return tmp_path / "seeds"


def test_every_seed_passes_cloud_inits_own_checks(tmp_path):
    pythonpath = cloud_init_package(tmp_path)
    seeds = render(tmp_path)
    hosts = sorted(os.listdir(seeds))
    assert hosts == ["bond-c1", "bond-c2", "dhcp-a1", "dhcp-a2", "rich-1", "static-b1", "static-b2"]
    proc = subprocess.run([sys.executable, "-c", CHECK, str(seeds), str(tmp_path / "rendered")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, PYTHONPATH=pythonpath))
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]
    assert proc.stdout.decode().split().count("ok") == len(hosts)

    # what the rich host's seed says, read back: no value changed its type on the way
    user_data = yaml.safe_load((seeds / "rich-1" / "user-data").read_text())
    assert user_data["hostname"] == "0123" and user_data["ssh_pwauth"] is False
    assert user_data["users"][0]["groups"] == "sudo,adm" and user_data["users"][0]["lock_passwd"] is False
    assert user_data["locale"] == "C.UTF-8"
    assert yaml.safe_load((seeds / "rich-1" / "meta-data").read_text())["local-hostname"] == "0123"
    assert yaml.safe_load((seeds / "rich-1" / "vendor-data").read_text()) == {"runcmd": [["echo", "vendor"]]}
    net = yaml.safe_load((seeds / "rich-1" / "network-config").read_text())
    assert set(net) == {"version", "ethernets", "bonds", "bridges", "vlans"}
    assert net["ethernets"]["nic2"]["dhcp4"] is True and net["ethernets"]["nic2"]["wakeonlan"] is True
    assert net["ethernets"]["nic0"]["optional"] is False

    # the renderers' output: the bridge, the bond, the VLAN and the IPv6 address made it through ENI; the
    # networkd renderer of this cloud-init writes their addresses but no .netdev, so it never creates a bond or a
    # bridge (docs/fleet.md, "Renderers": such images render with netplan; the boot test proves that)
    rendered = tmp_path / "rendered" / "rich-1"
    eni = (rendered / "eni" / "etc" / "network" / "interfaces.d" / "50-cloud-init").read_text()
    for needle in ("iface br0 inet static", "bridge_ports nic3", "bond-mode active-backup", "iface vlan40",
                   "vlan-raw-device bond0", "fd00:40::41/64", "mtu 1400"):
        assert needle in eni, needle
    networkd = {os.path.basename(path): open(path).read()
                for path in glob.glob(str(rendered / "networkd" / "etc" / "systemd" / "network" / "*"))}
    assert "Address=fd00:40::41/64" in networkd["10-cloud-init-bond0.network"]
    assert "Address=192.168.40.1/24" in networkd["10-cloud-init-br0.network"]
    assert json.dumps(sorted(networkd)).count("vlan40") >= 1
    assert not [name for name in networkd if name.endswith(".netdev")], sorted(networkd)
