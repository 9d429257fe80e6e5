# SPDX-License-Identifier: GPL-3.0-or-later
"""LVM images (tests/fixtures/lvm_image.py: GPT with ESP, /boot, and a PV with root, var and home LVs).

One playbook: the image customized to qcow2 (a file under /var must land on the var LV, not under the root
LV's /var), the same image made into a Live ISO (booted under OVMF in one boot that checks several things),
and the bad cases (a striped LV, a VG over two disks, a PV with no metadata) failing with clear messages.
The outputs are read back with plain losetup/mount at the offsets LVM itself reports (``lvs``), and the host
is checked to have no new device-mapper nodes, no /dev/<vg>, and no VG of ours in ``vgs``.
"""

import contextlib
import json
import os
import subprocess
import sys
import tempfile

import pytest
from conftest import HERE, run_playbook, sh
from tiny_images import own_leaks

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
sys.path.insert(0, os.path.dirname(HERE))
import lvm_image  # noqa: E402

pytestmark = pytest.mark.root

DATA = os.path.join(HERE, "data", "lvm")
VGS = ("sys-vg", "tvg", "two-disk-vg")


def host_lvm_state():
    """What the host shows of LVM: device-mapper nodes, /dev/<vg> directories, and the VGs and LVs its own
    LVM (its own configuration, scanning every device) reports."""
    with lvm_image.no_stray_dm_control():  # a plain lvs makes /dev/mapper/control where the kernel has no dm
        vgs = subprocess.run(["vgs", "--noheadings", "-o", "vg_name"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, check=False).stdout.split()
        lvs = subprocess.run(["lvs", "--noheadings", "-o", "vg_name,lv_name"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, check=False).stdout.split()
    mapper = sorted(os.listdir("/dev/mapper")) if os.path.isdir("/dev/mapper") else []
    dev_vgs = sorted(name for name in VGS if os.path.exists(os.path.join("/dev", name)))
    return {"mapper": mapper, "dev": dev_vgs, "vgs": vgs, "lvs": lvs}


def two_pv_disk(path, lvs_text, pv_mib=16, disks=1):
    """A raw GPT disk (or ``disks`` of them) with two 16 MiB PV partitions in one VG; ``lvs_text`` written
    as its LVs. With disks=2, each file holds one PV and the second has no metadata area."""
    start = 1 << 20
    size = pv_mib << 20
    paths = [path] if disks == 1 else [path, path + ".disk2"]
    per_disk = 2 if disks == 1 else 1
    for disk in paths:
        sh("truncate", "-s", str(start + per_disk * size + (1 << 20)), disk)
        table = "label: gpt\n" + "".join(
            "start=%d, size=%d, type=%s\n" % ((start + i * size) // 512, size // 512, lvm_image.LVM_TYPE)
            for i in range(per_disk))
        sh("sfdisk", "-q", "--no-reread", "--no-tell-kernel", disk, input=table.encode())
    with contextlib.ExitStack() as stack:
        devices = [stack.enter_context(lvm_image.loop(disk, start + i * size, size))
                   for disk in paths for i in range(per_disk)]
        config = lvm_image.lvm_config(*devices)
        lvm_image.lvm_tool(config, "pvcreate", "-y", "-ff", devices[0])
        lvm_image.lvm_tool(config, "pvcreate", "-y", "-ff", *(["--metadatacopies", "0"] if disks == 2 else []),
                           devices[1])
        vg = "tvg" if disks == 1 else "two-disk-vg"
        lvm_image.lvm_tool(config, "vgcreate", "-s", "1m", vg, *devices)
        with tempfile.TemporaryDirectory(dir=os.path.dirname(path)) as tmp:
            backup = os.path.join(tmp, "vg.txt")
            lvm_image.lvm_tool(config, "vgcfgbackup", "-f", backup, vg)
            with open(backup) as handle:
                text = handle.read()
            end = text.rindex("}")
            with open(backup, "w") as handle:
                handle.write(text[:end] + lvs_text + text[end:])
            lvm_image.lvm_tool(config, "vgcfgrestore", "-f", backup, vg)
    return paths


STRIPED = """\tlogical_volumes {
\t\troot {\n\t\t\tid = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000001"\n\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = []\n\t\t\tsegment_count = 1
\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = 4\n\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = ["pv0", 0]\n\t\t\t}\n\t\t}
\t\tdata {\n\t\t\tid = "aaaaaa-bbbb-cccc-dddd-eeee-ffff-000002"\n\t\t\tstatus = ["READ", "WRITE", "VISIBLE"]
\t\t\tflags = []\n\t\t\tsegment_count = 1
\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = 8\n\t\t\t\ttype = "striped"
\t\t\t\tstripe_count = 2\n\t\t\t\tstripe_size = 128\n\t\t\t\tstripes = ["pv0", 4, "pv1", 0]\n\t\t\t}\n\t\t}
\t}
"""
LINEAR = STRIPED.split("\t\tdata {", maxsplit=1)[0] + "\t}\n"


def file_state(path):
    """Size and modification time (any write changes them; hashing 3 GiB twice costs a minute)."""
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


@pytest.fixture(scope="module")
def lvm_dir():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    return lvm_image.ensure()


@pytest.fixture(scope="module")
def customized(lvm_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("lvm")
    host_before = host_lvm_state()
    raw = os.path.join(lvm_dir, "lvm.raw")
    before = file_state(raw)
    striped = two_pv_disk(str(work / "striped.raw"), STRIPED)[0]
    disk1, disk2 = two_pv_disk(str(work / "two-disks.raw"), LINEAR.replace('"pv0", 0', '"pv1", 0'), disks=2)
    tasks = [
        {"liveiso.customizer.image_customize": {
            "image": raw, "output": str(work / "lvm-out.qcow2"),
            "config": {"os": {"hostname": "lvm-custom", "additionalFiles": [
                {"content": "var of the LVM image\n", "destination": "/var/lib/liveiso-lvm-marker"},
                {"content": "home of the LVM image\n", "destination": "/home/ops/marker"},
                {"content": "etc of the LVM image\n", "destination": "/etc/liveiso-marker"}]}}}},
        {"liveiso.customizer.image_customize": {
            "image": raw, "output": str(work / "lvm.iso"), "config_file": os.path.join(DATA, "config.yaml"),
            "compression_level": 3}},
    ] + [{"liveiso.customizer.image_customize": {"image": image, "output": str(work / (name + "-out.raw")),
                                                 "config": {"os": {"hostname": "never"}}}}
         for name, image in (("striped", striped), ("disk1", disk1), ("disk2", disk2))]
    rc, results, output = run_playbook(str(work), tasks)
    return {"work": str(work), "raw": raw, "before": before, "host_before": host_before,
            "results": dict(zip(["qcow2", "iso", "striped", "disk1", "disk2"], results)), "output": output,
            "basetemp": tmp_path_factory.getbasetemp(),
            "layout": json.load(open(os.path.join(lvm_dir, "layout.json")))}


@contextlib.contextmanager
def lv_mounted(raw, offset, size):
    with tempfile.TemporaryDirectory(prefix="lvm-view-", dir="/var/tmp") as mnt:
        with lvm_image.loop(raw, offset, size, read_only=True) as device:
            sh("mount", "-o", "ro,noload", device, mnt)
            try:
                yield mnt
            finally:
                sh("umount", mnt)


def read(top, rel):
    with open(os.path.join(top, rel)) as handle:
        return handle.read()


def test_customized_disk_writes_land_on_their_lvs(customized, tmp_path):
    result = customized["results"]["qcow2"]
    assert not result.get("failed"), result.get("msg")
    notes = " ".join(result["notes"])
    for mounted in ("/ (LV sys-vg/root, ext4", "/var (LV sys-vg/var, ext4", "/home (LV sys-vg/home, ext4",
                    "/boot (partition 2, ext4", "/boot/efi (partition 1, vfat"):
        assert mounted in notes, notes
    raw = str(tmp_path / "out.raw")
    sh("qemu-img", "convert", "-O", "raw", result["output"], raw)
    pv_start = customized["layout"]["pv_start"]
    # where LVM itself (lvs on the output's PV, host-safe config) says each LV is
    with lvm_image.loop(raw, pv_start, 0, read_only=True) as pv:
        extents = lvm_image.lv_extents(pv, "sys-vg")
    assert extents == {k: tuple(v) for k, v in customized["layout"]["lvs"].items()}
    with lv_mounted(raw, pv_start + extents["var"][0], extents["var"][1]) as var:
        assert read(var, "lib/liveiso-lvm-marker") == "var of the LVM image\n"
        assert read(var, "lib/lvm-fixture-marker") == "on the var LV\n"
    with lv_mounted(raw, pv_start + extents["home"][0], extents["home"][1]) as home:
        assert read(home, "ops/marker") == "home of the LVM image\n"
    with lv_mounted(raw, pv_start + extents["root"][0], extents["root"][1]) as root:
        assert os.listdir(os.path.join(root, "var")) == []  # the root LV's /var is only the mount point
        assert os.listdir(os.path.join(root, "home")) == []
        assert read(root, "etc/liveiso-marker") == "etc of the LVM image\n"
        assert read(root, "etc/hostname") == "lvm-custom\n"
        assert "/dev/mapper/sys--vg-root / ext4" in read(root, "etc/fstab")


def test_live_iso_of_an_lvm_image(customized):
    result = customized["results"]["iso"]
    assert not result.get("failed"), result.get("msg")
    assert "rd.lvm" not in result["kernel_cmdline"] and "console=ttyS0,115200n8" in result["kernel_cmdline"]
    assert "sys--vg" not in result["kernel_cmdline"]
    notes = " ".join(result["notes"])
    assert "/var (LV sys-vg/var, ext4" in notes and "/ (LV sys-vg/root, ext4" in notes, notes


@pytest.mark.parametrize("case, message", [
    ("striped", "logical volume tvg/data is striped (2 stripes): it cannot be reached without device-mapper"),
    ("disk1", "volume group two-disk-vg spans physical volumes that are not in this image: pv1 ("),
    ("disk2", "partition 1 is an LVM physical volume with no metadata area, and no other physical volume in the "
              "image describes its volume group"),
])
def test_bad_lvm_images_fail_clearly(customized, case, message):
    result = customized["results"][case]
    assert result.get("failed")
    assert message in result["msg"], result["msg"]
    assert not os.path.exists(os.path.join(customized["work"], case + "-out.raw"))


def ours(leaked, customized):
    """Leaks of this module's builds only: other helpers' builds of the base image may run at the same time."""
    loops, mounts = leaked
    mine = (os.path.dirname(customized["raw"]), str(customized["basetemp"]))
    return ("\n".join(line for line in loops.splitlines() if any(m in line for m in mine)),
            [line for line in mounts if any(m in line for m in mine)])


def test_input_unchanged_nothing_left_host_untouched(customized):
    assert file_state(customized["raw"]) == customized["before"]
    assert ours(own_leaks(customized["basetemp"]), customized) == ("", [])
    after = host_lvm_state()
    assert after == customized["host_before"], (customized["host_before"], after)
    assert not any(vg in after["vgs"] for vg in VGS), after
    assert after["dev"] == [] and not any("sys--vg" in node or "tvg" in node for node in after["mapper"]), after


def test_no_loop_device_of_ours_shows_a_physical_volume(lvm_dir, tmp_path):
    """While the image is mounted, none of the library's loop devices carries an LVM label (the host's
    udev/LVM has nothing to auto-activate), and the host's LVM sees no VG of the image."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.loop import loops_backed_by
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import mounted_image
    raw = os.path.join(lvm_dir, "lvm.raw")
    with mounted_image(raw, str(tmp_path), mode="overlay") as image:  # read-only loops, as for a Live ISO
        assert sorted(mp.image_path for mp in image.mountpoints) == ["/", "/boot", "/boot/efi", "/home", "/var"]
        devices = loops_backed_by(raw)
        assert len(devices) >= 4, devices
        for device in devices:
            kind = sh("blkid", "-p", "-o", "value", "-s", "TYPE", device).strip()
            assert kind in ("ext4", "vfat"), (device, kind)
        assert "sys-vg" not in host_lvm_state()["vgs"]
        assert read(image.root, "var/lib/lvm-fixture-marker") == "on the var LV\n"
    assert loops_backed_by(raw) == []


@pytest.mark.qemu
def test_boot_live_iso_of_an_lvm_image(customized):
    """Booted under OVMF from CD: the live root is the squashfs (the initrd, which has the image's lvm2 and
    dracut's lvm module, does not wait for the image's LVs), with the var LV's files and the customization."""
    import qemu_boot
    from test_liveos_iso import report
    result = customized["results"]["iso"]
    assert not result.get("failed"), result.get("msg")
    log = os.path.join(customized["work"], "boot-lvm.log")
    text = qemu_boot.boot(result["output"], log, until="LIVEISO-REPORT-END", firmware="uefi", media="cdrom",
                          timeout=600, fail_on=r"Failed to mount sysroot|Entering emergency mode|Kernel panic")
    facts = report(text)
    assert facts["root"] == "LiveOS_rootfs overlay", facts["text"]
    assert facts["medium"] == "iso9660", facts["text"]
    assert facts["hostname"] == "lvm-live", facts["text"]
    assert facts["etcmarker"] == "customized on an LVM root", facts["text"]
    assert facts["varmarker"] == "on the var LV, customized", facts["text"]
    assert facts["fixturemarker"] == "on the var LV", facts["text"]
    assert facts["home"] == "# home LV", facts["text"]
    assert facts["lvmtool"].endswith("/lvm"), facts["text"]  # lvm2 is in the image (and its dracut module)
    assert facts["initqueuetimeout"] == "0" and facts["dmnodes"] == "0", facts["text"]
    assert "rd.lvm" not in facts["cmdline"], facts["text"]
    assert "status: done" in facts["text"], facts["text"]
    assert "LIVEISO-MARKER lvm" in facts["log"]
