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
    assert "no filesystem holds /etc/os-release" in message or "holds no /etc/os-release" in message, message
    for looked_at in ("the top level", "subvolume @", "subvolume @home", "subvolume root"):
        assert looked_at in message, message
    assert not os.path.exists(str(customized["work"] / "empty-out.raw"))


def test_inputs_unchanged_and_nothing_left(customized):
    for layout, path in customized["inputs"].items():
        assert sha256(path) == customized["before"][layout], layout
    assert own_leaks(customized["basetemp"]) == ("", [])
