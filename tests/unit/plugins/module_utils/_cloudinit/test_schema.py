# SPDX-License-Identifier: GPL-3.0-or-later
"""schema.py pure parts: os-release to the distro net-convert knows, the image's distro table, netplan-only keys."""

import json
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import schema
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.network import NetworkV2Key
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.schema import (
    OSFAMILIES_22_4,
    NetworkRenderer,
    net_convert_distro,
    parse_os_release,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import SeedError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result

OS_RELEASES = {  # the ID and ID_LIKE lines of each distribution's /etc/os-release
    "amzn": ('ID="amzn"\nID_LIKE="centos rhel fedora"\n', "amazon"),
    "ol": ('ID="ol"\nID_LIKE="fedora"\n', "rhel"),
    "kali": ("ID=kali\nID_LIKE=debian\n", "debian"),
    "linuxmint": ("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "ubuntu"),
    "pop": ("ID=pop\nID_LIKE=\"ubuntu debian\"\n", "ubuntu"),
    "debian": ("ID=debian\n", "debian"),
    "ubuntu": ("ID=ubuntu\nID_LIKE=debian\n", "ubuntu"),
    "rocky": ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "rocky"),
    "opensuse-leap": ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n', "opensuse"),
    "sles_sap": ('ID="sles_sap"\nID_LIKE="suse"\n', "sles"),
    "azurelinux": ("ID=azurelinux\n", "mariner"),
    "manjaro": ("ID=manjaro\nID_LIKE=arch\n", "arch"),
    "raspbian": ("# comment\nID=raspbian\nID_LIKE=debian\nNAME='Raspbian'\n", "debian"),
}


@pytest.mark.parametrize("os_id", sorted(OS_RELEASES))
def test_os_release_maps_to_a_distro_net_convert_takes(os_id):
    text, distro = OS_RELEASES[os_id]
    known = [name for names in OSFAMILIES_22_4.values() for name in names]
    assert net_convert_distro(parse_os_release(text), OSFAMILIES_22_4, NetworkRenderer.ENI) == distro
    assert distro in known


def test_unknown_os_release_falls_back_by_family_then_renderer():
    assert net_convert_distro({"ID": "x", "ID_LIKE": "suse"}, {"suse": ["opensuse"], "debian": ["debian"]},
                              NetworkRenderer.ENI) == "opensuse"  # a family named in ID_LIKE
    assert net_convert_distro({"ID": "x"}, OSFAMILIES_22_4, NetworkRenderer.SYSCONFIG) == "rhel"
    assert net_convert_distro({"ID": "x"}, OSFAMILIES_22_4, NetworkRenderer.NETWORKD) == "arch"
    assert net_convert_distro({}, OSFAMILIES_22_4, NetworkRenderer.NETPLAN) == "ubuntu"
    assert net_convert_distro({"ID": "ol"}, {"redhat": ["ol", "rhel"]}, NetworkRenderer.SYSCONFIG) == "rhel"
    assert net_convert_distro({"ID": "x"}, {"other": ["solo"]}, NetworkRenderer.ENI) == "solo"


def test_parse_os_release_strips_quotes_and_skips_comments():
    assert parse_os_release('# ID=no\nID="a"\nVERSION_ID=\'12\'\nbroken line\n') == {"ID": "a", "VERSION_ID": "12"}


class FakeChroot:
    def __init__(self, root, stdout="", returncode=0):
        self.root, self.stdout, self.returncode, self.argv = root, stdout, returncode, []

    def path(self, image_path):
        return os.path.join(self.root, image_path.lstrip("/"))

    def run(self, argv, check=True, merge_output=False):
        self.argv.append(list(argv))
        return Result(argv=list(argv), returncode=self.returncode, stdout=self.stdout, stderr="", seconds=0.0)

    def which(self, name):
        return None

    def exists(self, path):
        return os.path.exists(self.path(path))


def test_known_distros_come_from_the_image_else_the_22_4_table(tmp_path):
    table = {"debian": ["debian", "ubuntu", "kali"]}
    chroot = FakeChroot(str(tmp_path), stdout="some warning\n" + json.dumps(table) + "\n")
    assert schema.known_distros(chroot) == table
    assert chroot.argv[0][:2] == ["python3", "-c"]
    assert schema.known_distros(FakeChroot(str(tmp_path), stdout="Traceback", returncode=1)) is OSFAMILIES_22_4
    assert schema.known_distros(FakeChroot(str(tmp_path), stdout="[1, 2]")) is OSFAMILIES_22_4


def test_os_id_reads_the_image(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "os-release").write_text('NAME="Amazon Linux"\nID="amzn"\nID_LIKE="centos rhel fedora"\n')
    chroot = FakeChroot(str(tmp_path))
    assert schema.os_id(chroot) == "amzn"
    assert schema.read_os_release(chroot)["ID_LIKE"] == "centos rhel fedora"
    assert schema.os_id(FakeChroot(str(tmp_path / "none"))) == "debian"


def test_tunnels_and_vrfs_are_refused_for_renderers_other_than_netplan(tmp_path):
    chroot = FakeChroot(str(tmp_path))  # no netplan, no ifup, no networkd: sysconfig
    facts = schema.ImageFacts(notes=[], live_medium="/run/initramfs/live", cloud_init_version="22.4.2")
    with pytest.raises(SeedError) as info:
        schema.check_network_rendering(chroot, facts, {NetworkV2Key.TUNNELS, NetworkV2Key.ETHERNETS})
    assert str(info.value).startswith("network-config: tunnels: only the netplan renderer takes it, and this image "
                                      "renders network config for sysconfig")
    assert chroot.argv == []  # refused before net-convert runs
