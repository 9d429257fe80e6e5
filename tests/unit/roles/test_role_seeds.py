# SPDX-License-Identifier: GPL-3.0-or-later
"""The cloudinit_config role renders the example inventory's seeds (ansible-playbook, no root).

The DHCP hosts of the example have no interfaces: their network-config must match the NIC by MAC (every
renderer reads that the same way), never by a name glob (only netplan knows globs: on ENI, networkd and
sysconfig a glob became an interface literally named so, and the NIC stayed down). A host with neither
interfaces nor a MAC gets no network-config at all (cloud-init's fallback: DHCP on the first NIC).
"""

import importlib
import os
import subprocess
import sys

import yaml


# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])


def render(tmp_path, limit, extra_vars=()):
    playbook = tmp_path / "seeds.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": limit, "gather_facts": False, "connection": "local",
        "tasks": [{"ansible.builtin.include_role": {"name": "liveiso.customizer.cloudinit_config"},
                   "vars": {"cloudinit_config_dir": str(tmp_path / "seeds")}}]}]))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
            os.path.join(REPO, "inventories", "example"), str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    for item in extra_vars:
        argv += ["-e", item]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout.decode()[-3000:]
    return tmp_path / "seeds"


def test_dhcp_hosts_match_their_nic_by_mac(tmp_path):
    seeds = render(tmp_path, "site_dhcp:static-b1")
    for host, mac in (("dhcp-a1", "52:54:00:10:00:01"), ("dhcp-a2", "52:54:00:10:00:02")):
        net = yaml.safe_load((seeds / host / "network-config").read_text())
        assert net["version"] == 2 and set(net) == {"version", "ethernets"}
        (nic,) = net["ethernets"].values()
        assert nic["match"] == {"macaddress": mac}
        assert nic["dhcp4"] is True
        assert "set-name" not in nic  # the NIC keeps the kernel's name
        assert nic["nameservers"] == {"addresses": ["10.0.2.3"], "search": ["fleet.example.net"]}
    static = yaml.safe_load((seeds / "static-b1" / "network-config").read_text())
    assert static["ethernets"]["lan0"]["match"] == {"macaddress": "52:54:00:20:00:01"}
    assert static["ethernets"]["lan0"]["set-name"] == "lan0"
    assert static["ethernets"]["lan0"]["addresses"] == ["10.0.2.21/24"]


def test_host_without_mac_or_interfaces_gets_no_network_config(tmp_path):
    """...and a rerun after the MAC is dropped removes the file an earlier run wrote."""
    seeds = render(tmp_path, "dhcp-a1")
    assert (seeds / "dhcp-a1" / "network-config").exists()
    seeds = render(tmp_path, "dhcp-a1", ['{"cloudinit_mac": ""}'])
    assert sorted(os.listdir(seeds / "dhcp-a1")) == ["meta-data", "user-data"]


def run_role(tmp_path, limit, extra_vars=()):
    playbook = tmp_path / "seeds.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": limit, "gather_facts": False, "connection": "local",
        "tasks": [{"ansible.builtin.include_role": {"name": "liveiso.customizer.cloudinit_config"},
                   "vars": {"cloudinit_config_dir": str(tmp_path / "seeds")}}]}]))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
            os.path.join(REPO, "inventories", "example"), str(playbook),
            "-e", "ansible_python_interpreter=" + sys.executable]
    for item in extra_vars:
        argv += ["-e", item]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    return proc.returncode, proc.stdout.decode()


def test_a_wrong_variable_stops_the_role_before_rendering_naming_host_and_variable(tmp_path):
    """Through Ansible's real hostvars: a VLAN without id, an unknown variable, a typed string."""
    rc, out = run_role(tmp_path, "static-b1", ['{"cloudinit_vlans": [{"name": "v10", "link": "lan0"}]}'])
    assert rc != 0 and "static-b1: cloudinit_vlans[0] needs 'id'" in out, out[-3000:]
    assert not (tmp_path / "seeds" / "static-b1").exists()
    rc, out = run_role(tmp_path, "static-b1", ['{"cloudinit_brigdes": []}'])
    assert rc != 0 and "static-b1: cloudinit_brigdes is not a variable" in out, out[-3000:]
    assert "did you mean cloudinit_bridges" in out, out[-3000:]
    rc, out = run_role(tmp_path, "static-b1",
                       ['{"cloudinit_brigdes": [], "cloudinit_config_unknown_variables": "warn"}'])
    assert rc == 0 and "cloudinit_brigdes is not a variable" in out, out[-3000:]


def test_strings_keep_their_type_through_the_role(tmp_path):
    seeds = tmp_path / "seeds"
    rc, out = run_role(tmp_path, "static-b1", [
        '{"cloudinit_hostname": "0123", "cloudinit_users": [{"name": "ops", "groups": "sudo,adm"}],'
        ' "cloudinit_interfaces": [{"name": "lan0", "mac": "52:54:00:20:00:01", "dhcp4": "false",'
        ' "addresses": ["10.0.2.21/24"]}], "cloudinit_bridges": [{"name": "br0", "interfaces": ["lan0"]}]}'])
    assert rc == 0, out[-3000:]
    user_data = yaml.safe_load((seeds / "static-b1" / "user-data").read_text())
    assert user_data["hostname"] == "0123" and user_data["users"][1]["groups"] == "sudo,adm"
    assert yaml.safe_load((seeds / "static-b1" / "meta-data").read_text())["local-hostname"] == "0123"
    net = yaml.safe_load((seeds / "static-b1" / "network-config").read_text())
    assert "dhcp4" not in net["ethernets"]["lan0"] and net["bridges"] == {"br0": {"interfaces": ["lan0"]}}
