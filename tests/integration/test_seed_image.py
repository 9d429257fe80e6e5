# SPDX-License-Identifier: GPL-3.0-or-later
"""cloudinit_seed against the Debian 12 base image's own cloud-init (22.4.2), issue 16: every cloud-config part
of MIME and archive user-data goes through its schema, a jinja template is left to boot, and net-convert gets
a distro it knows for os-release IDs it does not (amzn, ol, kali, linuxmint)."""

import contextlib
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._build.workdir import work_directory
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import make, schema
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.network import NetworkV2Key
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import SeedError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import chroot_environment
from conftest import leaks

pytestmark = pytest.mark.root

NET_V2 = "version: 2\nethernets:\n  uplink:\n    match: {macaddress: '52:54:00:12:34:56'}\n    dhcp4: true\n"


def my_leaks(tmp_path):
    """What leaks() sees under this test's tmp dir (parallel sessions of other helpers are not ours)."""
    loops, mounts = leaks()
    return [line for line in loops.splitlines() + mounts if str(tmp_path) in line]


def mime(*parts):
    body = "".join("--B\nContent-Type: %s\n\n%s\n" % part for part in parts)
    return 'Content-Type: multipart/mixed; boundary="B"\nMIME-Version: 1.0\n\n' + body + "--B--\n"


def seed(tmp_path, name, user_data, base_dir, **kwargs):
    return make.make_seed(make.SeedRequest(dest=str(tmp_path / name), user_data=user_data,
                                           validate_with_image=os.path.join(base_dir, "base.raw"), **kwargs))


def test_image_schema_checks_every_cloud_config_part(base_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the work directories, so that leaks can be told apart
    good = mime(("text/cloud-config", "#cloud-config\nhostname: part-one"), ("text/x-shellscript", "#!/bin/sh\ntrue"),
                ("text/plain", "#cloud-config\npackages: [jq]"))
    notes = seed(tmp_path, "good", good, base_dir, network_config=NET_V2)["notes"]
    assert "MIME part 1 (text/cloud-config) valid for cloud-init 22.4.2" in notes
    assert "MIME part 3 (text/plain) valid for cloud-init 22.4.2" in notes
    assert "network-config renders for eni (distro debian) with cloud-init 22.4.2" in notes

    bad = mime(("text/x-shellscript", "#!/bin/sh\ntrue"), ("text/cloud-config", "#cloud-config\npackages: 5"))
    with pytest.raises(SeedError) as info:
        seed(tmp_path, "bad", bad, base_dir)
    assert str(info.value).startswith("user-data: MIME part 2 (text/cloud-config): cloud-init 22.4.2 schema check "
                                      "failed: ")
    assert "packages" in str(info.value)

    archive = "#cloud-config-archive\n- 'ntp: {enabled: notabool}'\n"
    with pytest.raises(SeedError) as info:
        seed(tmp_path, "archive", archive, base_dir)
    assert str(info.value).startswith("user-data: archive part 0 (text/cloud-config): cloud-init 22.4.2 schema")

    jinja = "## template: jinja\n#cloud-config\nhostname: {{ ds.meta_data.local_hostname }}\n"
    notes = seed(tmp_path, "jinja", jinja, base_dir, network_config={"network": {"config": "disabled"}})["notes"]
    assert "user-data is a jinja template: cloud-init renders it at boot, its schema is checked offline only" in notes
    assert "network-config disables cloud-init's network configuration: nothing to render" in notes
    assert my_leaks(tmp_path) == []


OS_RELEASES = {
    "amzn": ('NAME="Amazon Linux"\nID="amzn"\nID_LIKE="centos rhel fedora"\n', "amazon"),
    "ol": ('NAME="Oracle Linux Server"\nID="ol"\nID_LIKE="fedora"\n', "rhel"),
    "kali": ('NAME="Kali GNU/Linux"\nID=kali\nID_LIKE=debian\n', "debian"),
    "linuxmint": ('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n', "ubuntu"),
}


def test_net_convert_takes_the_mapped_distro(base_dir, tmp_path):
    """The image root under its throw-away overlay, its os-release replaced by each distribution's: the image's
    net-convert renders with the distro mapped from it, where the raw ID fails with "invalid choice"."""
    with contextlib.ExitStack() as stack:
        workdir, _released = stack.enter_context(work_directory(str(tmp_path)))
        root = stack.enter_context(schema.image_root(os.path.join(base_dir, "base.raw"), workdir))
        chroot = stack.enter_context(chroot_environment(root))
        families = schema.known_distros(chroot)
        assert "debian" in families["debian"] and families != {}  # the image's own table, read by its Python
        os.makedirs(chroot.path(schema.WORK), exist_ok=True)
        with open(chroot.path(schema.WORK + "/network-config"), "w") as handle:
            handle.write(NET_V2)
        for os_id, (text, distro) in sorted(OS_RELEASES.items()):
            release = os.path.join(root, "etc/os-release")
            if os.path.lexists(release):
                os.unlink(release)  # a link into /usr/lib on Debian; the overlay drops the change
            with open(release, "w") as handle:
                handle.write(text)
            raw = chroot.run(["cloud-init", "devel", "net-convert", "--network-data", schema.WORK + "/network-config",
                              "--kind", "yaml", "--output-kind", "eni", "--distro", os_id, "--directory",
                              schema.WORK + "/raw"], check=False, merge_output=True)
            assert raw.returncode != 0 and "invalid choice" in raw.stdout  # what happened before the mapping
            facts = schema.ImageFacts(notes=[], live_medium="", cloud_init_version="22.4.2")
            schema.check_network_rendering(chroot, facts, set())
            assert facts["notes"] == ["network-config renders for eni (distro %s) with cloud-init 22.4.2" % distro]
        with pytest.raises(SeedError) as info:
            schema.check_network_rendering(chroot, facts, {NetworkV2Key.VRFS})
        assert "vrfs: only the netplan renderer takes it, and this image renders network config for eni" in str(
            info.value)
    assert my_leaks(tmp_path) == []
