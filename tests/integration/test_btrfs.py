# SPDX-License-Identifier: GPL-3.0-or-later
"""btrfs roots as distributions install them (Fedora, Ubuntu, openSUSE layouts; btrfs_images.py).

For each layout, in one playbook: image_customize writes a file under /home (it must land in the home
subvolume, not in the root subvolume's /home directory), one under /etc (in the root subvolume), and sets
the hostname; the output (raw) is read back with plain btrfs tools. An image with no OS in any subvolume fails
with a message naming what was looked at, and nothing is left mounted. The Live ISO of a Fedora-layout image
is built and booted in test_liveos_iso.py (it needs a bootable system, not a tiny root).
"""

import os

import pytest
from btrfs_images import LAYOUTS, btrfs_of_disk, make_btrfs_disk
from conftest import run_playbook, sha256
from tiny_images import own_leaks

pytestmark = pytest.mark.root

OS_LAYOUTS = ["fedora", "ubuntu", "opensuse"]


@pytest.fixture(scope="module")
def customized(tmp_path_factory):
    work = tmp_path_factory.mktemp("btrfs")
    inputs = {layout: make_btrfs_disk(str(work / ("%s.raw" % layout)), layout) for layout in LAYOUTS}
    before = {layout: sha256(path) for layout, path in inputs.items()}
    tasks = []
    for layout in OS_LAYOUTS + ["empty"]:
        tasks.append({"liveiso.customizer.image_customize": {
            "image": inputs[layout], "output": str(work / ("%s-out.raw" % layout)),
            "config": {"os": {"hostname": "custom-%s" % layout, "additionalFiles": [
                {"content": "home of %s\n" % layout, "destination": "/home/ops/marker"},
                {"content": "etc of %s\n" % layout, "destination": "/etc/liveiso-marker"}]}}}})
    rc, results, output = run_playbook(str(work), tasks)
    return {"work": work, "inputs": inputs, "before": before, "results": dict(zip(OS_LAYOUTS + ["empty"], results)),
            "output": output, "basetemp": tmp_path_factory.getbasetemp()}


def read(top, rel):
    with open(os.path.join(top, rel)) as handle:
        return handle.read()


@pytest.mark.parametrize("layout", OS_LAYOUTS)
def test_writes_land_in_the_right_subvolume(customized, layout):
    result = customized["results"][layout]
    assert not result.get("failed"), result.get("msg")
    spec = LAYOUTS[layout]
    with btrfs_of_disk(result["output"]) as top:
        assert read(top, os.path.join(spec["home"], "ops/marker")) == "home of %s\n" % layout
        assert not os.path.exists(os.path.join(top, spec["root"], "home/ops/marker"))  # not under the root's /home
        assert read(top, os.path.join(spec["root"], "etc/liveiso-marker")) == "etc of %s\n" % layout
        assert read(top, os.path.join(spec["root"], "etc/hostname")) == "custom-%s\n" % layout
        if layout == "fedora":  # the older copy that also holds an OS is left alone
            assert read(top, "root-snap/etc/hostname") == "old-snapshot\n"
            assert not os.path.exists(os.path.join(top, "root-snap/etc/liveiso-marker"))
    mounted = " ".join(result["notes"])
    assert "subvol" in mounted and "/home" in mounted, mounted


def test_opensuse_snapshots_are_not_mounted_but_var_is(customized):
    notes = " ".join(customized["results"]["opensuse"]["notes"])
    assert "/var (partition 3, btrfs subvol=/@/var" in notes and " /.snapshots (" not in notes, notes
    assert "/ (partition 3, btrfs subvol=/@/.snapshots/1/snapshot" in notes  # the default subvolume


def test_no_os_in_any_subvolume_names_what_was_looked_at(customized):
    result = customized["results"]["empty"]
    assert result.get("failed")
    message = result["msg"]
    assert "no filesystem holds /etc/os-release (looked at partition 2 (ext4); partition 3 (btrfs): the top level" \
        in message, message
    for looked_at in ("the top level", "subvolume @", "subvolume @home", "subvolume root"):
        assert looked_at in message, message
    assert not os.path.exists(str(customized["work"] / "empty-out.raw"))


def test_inputs_unchanged_and_nothing_left(customized):
    for layout, path in customized["inputs"].items():
        assert sha256(path) == customized["before"][layout], layout
    assert own_leaks(customized["basetemp"]) == ("", [])


# ---------------------------------------------------------------- a Live ISO of a Fedora-layout image, booted

@pytest.fixture(scope="module")
def fedora_iso(base_dir, tmp_path_factory):
    """The Debian base system laid out as Fedora installs it (btrfs root + home subvolumes, /boot on ext4),
    customized and turned into a Live ISO by image_customize (Example 1's seed, this test's probe)."""
    import json
    import subprocess
    import tempfile
    work = tmp_path_factory.mktemp("btrfs-live")
    raw = os.path.join(base_dir, "base.raw")
    table = json.loads(subprocess.run(["sfdisk", "-J", raw], check=True, stdout=subprocess.PIPE).stdout)
    root = [p for p in table["partitiontable"]["partitions"] if p.get("name") == "root"][0]
    disk = str(work / "fedora-layout.raw")
    with tempfile.TemporaryDirectory(prefix="base-root-", dir="/var/tmp") as mnt:
        loop = subprocess.run(["losetup", "--find", "--show", "--read-only", "--offset", str(root["start"] * 512),
                               "--sizelimit", str(root["size"] * 512), raw], check=True, stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
        try:
            subprocess.run(["mount", "-o", "ro,noload", loop, mnt], check=True)
            try:
                make_btrfs_disk(disk, "fedora", os_tree=mnt, btrfs_mib=1600, boot_mib=128)
            finally:
                subprocess.run(["umount", mnt], check=True)
        finally:
            subprocess.run(["losetup", "-d", loop], check=True)
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "btrfs-fedora")
    rc, results, output = run_playbook(str(work), [{"liveiso.customizer.image_customize": {
        "image": disk, "output": str(work / "fedora-layout.iso"), "config_file": os.path.join(data, "config.yaml"),
        "compression_level": 3}}])
    result = results[0]
    assert not result.get("failed"), result.get("msg")
    result["work"] = str(work)
    return result


def test_fedora_layout_live_iso_is_made_from_the_root_subvolume(fedora_iso):
    assert fedora_iso["build_path"] == "full"
    notes = " ".join(fedora_iso["notes"])
    assert "/ (partition 3, btrfs subvol=/root" in notes and "/home (partition 3, btrfs subvol=home" in notes, notes


@pytest.mark.qemu
def test_boot_fedora_layout_live_iso(fedora_iso):
    """Booted under OVMF from CD: the live root is the squashfs of the root subvolume's tree with the home
    subvolume's files (not the btrfs top level), customized, with the seed's hostname and cloud-init done."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import qemu_boot
    from test_liveos_iso import report
    log = os.path.join(fedora_iso["work"], "boot-fedora-layout.log")
    text = qemu_boot.boot(fedora_iso["output"], log, until="LIVEISO-REPORT-END", firmware="uefi", media="cdrom",
                          timeout=600, fail_on=r"Failed to mount sysroot|Entering emergency mode|Kernel panic")
    facts = report(text)
    assert facts["root"] == "LiveOS_rootfs overlay", facts["text"]
    assert facts["hostname"] == "btrfs-live", facts["text"]
    assert facts["home"] == "# home subvolume of fedora", facts["text"]
    assert facts["etcmarker"] == "customized on a btrfs root", facts["text"]
    assert "status: done" in facts["text"], facts["text"]
    assert "LIVEISO-MARKER btrfs-fedora" in facts["log"]
