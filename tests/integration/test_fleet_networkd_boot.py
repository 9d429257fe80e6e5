# SPDX-License-Identifier: GPL-3.0-or-later
"""A seed rendered by the cloudinit_config role, booted on a second network renderer: one guest with four NICs.

The image is the Debian 12 base image with ifupdown removed and netplan.io installed, cloud-init told to render
with netplan (which hands the network to systemd-networkd), so cloud-init does not use ENI as on the base image.
(cloud-init 22.4's own networkd renderer writes no .netdev files: bonds and bridges are never created with it;
netplan creates them through networkd.) The guest's seed has a static IPv4 address with the default route on the
first NIC (qemu's user network), an active-backup bond of the second and third NICs, a bridge on the fourth with
an IPv4 and an IPv6 static address; a probe prints ``ip -br addr``, ``ip route``, ``networkctl`` and the
renderer cloud-init chose to the serial console. One boot checks all of it.
"""

import fcntl
import os
import re
import sys
import time

import pytest
import yaml
from conftest import HERE, REPO, run_playbook, sh

sys.path.insert(0, os.path.dirname(HERE))
import base_image  # noqa: E402
import qemu_boot  # noqa: E402

pytestmark = [pytest.mark.root]

MACS = ["52:54:00:50:00:01", "52:54:00:50:00:02", "52:54:00:50:00:03", "52:54:00:50:00:04"]
PROBE = """#!/bin/sh
cloud-init status --wait >/dev/null 2>&1
for i in $(seq 60); do ip -br addr show br0 2>/dev/null | grep -q 'fd00:52::1/64' && \\
  ip -br addr show bond0 2>/dev/null | grep -q 192.168.51.1 && break; sleep 1; done
{
  echo "LIVEISO-REPORT-BEGIN"
  echo "hostname=$(hostname)"
  echo "renderer=$(grep -o "Selected renderer '[a-z]*'" /var/log/cloud-init.log | tail -1)"
  echo "ifup=$(command -v ifup || echo none)"
  echo "--- ip -br addr"; ip -br addr
  echo "--- ip route"; ip route
  echo "--- ip -6 route"; ip -6 route
  echo "--- bond"; cat /sys/class/net/bond0/bonding/mode /sys/class/net/bond0/bonding/slaves 2>&1
  echo "--- bridge"; ls /sys/class/net/br0/brif 2>&1
  echo "--- networkctl"; networkctl --no-pager list 2>&1
  cloud-init status --long
  echo "LIVEISO-REPORT-END"
} > /dev/ttyS0 2>&1
systemctl poweroff
"""
HOST = {
    "cloudinit_hostname": "netd-1",
    "cloudinit_interfaces": [
        {"name": "nic0", "mac": MACS[0], "addresses": ["10.0.2.51/24"], "gateway4": "10.0.2.2"},
        {"name": "nic1", "mac": MACS[1]}, {"name": "nic2", "mac": MACS[2]}, {"name": "nic3", "mac": MACS[3]},
    ],
    "cloudinit_bonds": [{"name": "bond0", "interfaces": ["nic1", "nic2"], "mode": "active-backup",
                         "addresses": ["192.168.51.1/24"]}],
    "cloudinit_bridges": [{"name": "br0", "interfaces": ["nic3"], "addresses": ["192.168.52.1/24", "fd00:52::1/64"],
                           "parameters": {"stp": False}}],
    "cloudinit_dns_servers": ["10.0.2.3"],
    "cloudinit_write_files": [{"path": "/usr/local/sbin/liveiso-probe", "permissions": "0755", "content": PROBE}],
    "cloudinit_runcmd": [["systemd-run", "--no-block", "--unit=liveiso-probe", "/usr/local/sbin/liveiso-probe"]],
}
SCRIPT = """set -e
mkdir -p /var/lib/cloud/seed/
ln -s -T /run/initramfs/live/cloud-init-data /var/lib/cloud/seed/nocloud
printf 'system_info:\\n  network:\\n    renderers: [netplan]\\n' > /etc/cloud/cloud.cfg.d/95-renderer.cfg
systemctl enable systemd-networkd.service
test ! -e /sbin/ifup
"""


def render_seed(dest):
    inventory = os.path.join(dest, "inventory.yml")
    with open(inventory, "w") as handle:
        yaml.safe_dump({"all": {"hosts": {"netd-1": HOST}}}, handle)
    playbook = os.path.join(dest, "seed.yml")
    with open(playbook, "w") as handle:
        yaml.safe_dump([{"hosts": "netd-1", "gather_facts": False, "connection": "local", "tasks": [
            {"ansible.builtin.include_role": {"name": "liveiso.customizer.cloudinit_config"},
             "vars": {"cloudinit_config_dir": dest}}]}], handle)
    sh(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, playbook,
       "-e", "ansible_python_interpreter=" + sys.executable, cwd=REPO)
    return os.path.join(dest, "netd-1")


@pytest.fixture(scope="module")
def netplan_iso(base_dir, tmp_path_factory):
    """The ISO, cached under $LIVEISO_CACHE_DIR/netplan-iso-<base key> (image_customize's stamp: a rerun with the
    same inputs builds nothing)."""
    cache = os.path.join(base_image.cache_root(), "netplan-iso-" + base_image.recipe_key()[:16])
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        seed = render_seed(cache)
        config = {"os": {"packages": {"remove": ["ifupdown"], "install": ["netplan.io"]}},
                  "scripts": {"postCustomization": [{"content": SCRIPT}]},
                  "iso": {"additionalFiles": {os.path.join(seed, name): "/cloud-init-data/" + name
                                              for name in ("meta-data", "user-data", "network-config")},
                          "kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]}}}
        work = str(tmp_path_factory.mktemp("netplan"))
        rc, results, out = run_playbook(work, [{"liveiso.customizer.image_customize": {
            "image": os.path.join(base_dir, "base.qcow2"), "output": os.path.join(cache, "netplan.iso"),
            "output_format": "iso", "config": config, "compression_level": 3}}])
        assert not results[0].get("failed"), (results[0].get("msg"), out[-3000:])
    return results[0]["output"], seed


@pytest.mark.qemu
def test_bond_bridge_ipv6_and_static_route_on_netplan_networkd(netplan_iso, tmp_path):
    iso, seed = netplan_iso
    with open(os.path.join(seed, "network-config")) as handle:
        assert set(yaml.safe_load(handle)) == {"version", "ethernets", "bonds", "bridges"}
    extra = []
    for index, mac in enumerate(MACS[1:], 1):
        extra += ["-netdev", "user,id=n%d,restrict=on" % index,
                  "-device", "virtio-net-pci,netdev=n%d,mac=%s" % (index, mac)]
    started = time.monotonic()
    text = qemu_boot.boot(iso, str(tmp_path / "boot.log"), until="LIVEISO-REPORT-END", mac=MACS[0], timeout=900,
                          fail_on=r"Entering emergency mode|Kernel panic", extra_args=extra)
    print("boot seconds: %.0f" % (time.monotonic() - started))
    clean = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    body = clean.split("LIVEISO-REPORT-BEGIN")[-1].split("LIVEISO-REPORT-END")[0]
    assert "hostname=netd-1" in body, body
    # no ifupdown, so not ENI; networkd manages the links ("configured"), bond and bridge exist, which cloud-init
    # 22.4's own networkd renderer cannot make: netplan rendered them (cloud-init 22.4 does not log its choice)
    assert "ifup=none" in body, body
    assert re.search(r"nic0\s+ether\s+\S+\s+configured", body), body
    addrs = {line.split()[0]: line for line in body.split("--- ip -br addr")[1].split("---")[0].splitlines()
             if line.strip()}
    assert "10.0.2.51/24" in addrs["nic0"], body
    assert "192.168.51.1/24" in addrs["bond0"], body
    assert "192.168.52.1/24" in addrs["br0"] and "fd00:52::1/64" in addrs["br0"], body
    assert re.search(r"^default via 10\.0\.2\.2 dev nic0", body, re.M), body
    assert "active-backup" in body and re.search(r"nic1 nic2|nic2 nic1", body), body
    assert re.search(r"--- bridge\s+nic3", body), body
    assert re.search(r"br0\s+bridge\s+\S+\s+configured", body) or re.search(r"br0\s+bridge", body), body
    assert "status: done" in body, body
