# SPDX-License-Identifier: GPL-3.0-or-later
"""Live OS ISOs: built from the Debian base image, inspected with xorriso, and booted under qemu (TCG).

Each boot checks several things at once (kernel command line, live overlay root, media files, cloud-init
reaching done with the seed's hostname): a TCG boot costs about two minutes of both cores.
"""

import json
import os
import re
import sys
import subprocess

import pytest
import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils._live import squashfs

from conftest import HERE, leaks, run_playbook, sh, sha256

sys.path.insert(0, os.path.dirname(HERE))
import qemu_boot  # noqa: E402

pytestmark = pytest.mark.root

DATA = os.path.join(HERE, "data")
LEVEL = 3  # fast zstd for tests; the default level is measured in benchmarks/


def module_task(module, **params):
    return {"name": module, "liveiso.customizer.%s" % module: params}


def run_module(workdir, module, check=False, **params):
    results = run_playbook(workdir, [module_task(module, **params)], check=check)[1]
    return results[0]


def iso_files(iso):
    out = sh("xorriso", "-indev", iso, "-find", "/", "-type", "f")
    return sorted(line.strip().strip("'") for line in out.splitlines() if line.startswith("'"))


def iso_extract(iso, path, dest):
    sh("xorriso", "-osirrox", "on", "-indev", iso, "-extract", path, dest)
    return dest


def iso_text(iso, path, tmp):
    with open(iso_extract(iso, path, os.path.join(str(tmp), os.path.basename(path) + ".x"))) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("liveos"))


@pytest.fixture(scope="module")
def ex1(base_dir, work):
    """iso-support.md Example 1, verbatim, through image_customize with output_format iso."""
    output = os.path.join(work, "example1.iso")
    before = sha256(os.path.join(base_dir, "base.qcow2"))
    result = run_module(work, "image_customize", image=os.path.join(base_dir, "base.qcow2"), output=output,
                        config_file=os.path.join(DATA, "example1", "config.yaml"), compression_level=LEVEL)
    assert not result.get("failed"), result.get("msg")
    assert sha256(os.path.join(base_dir, "base.qcow2")) == before
    return result


@pytest.fixture(scope="module")
def site_b(ex1, work, xfs_dir):
    """Example 1 re-customized: only the cloud-init data swapped (and one argument added) - the fast path,
    written on xfs."""
    with open(os.path.join(DATA, "example1-site-b", "iso.yaml")) as handle:
        iso = yaml.safe_load(handle)
    base = os.path.join(xfs_dir, "example1.iso")
    sh("cp", ex1["output"], base)
    before = sha256(base)
    result = run_module(work, "liveos_iso", image=base, output=os.path.join(xfs_dir, "site-b.iso"), iso=iso,
                        config_dir=os.path.join(DATA, "example1-site-b"))
    assert not result.get("failed"), result.get("msg")
    assert sha256(base) == before  # the input is never modified, even when its blocks are shared
    result["base_copy"] = base
    return result


@pytest.fixture(scope="module")
def ex2(base_dir, work):
    """iso-support.md Example 2, verbatim, from the raw image, Secure Boot chain required."""
    result = run_module(work, "image_customize", image=os.path.join(base_dir, "base.raw"),
                        output=os.path.join(work, "example2.iso"), output_format="iso",
                        config_file=os.path.join(DATA, "example2", "config.yaml"), compression_level=LEVEL,
                        secure_boot="required")
    assert not result.get("failed"), result.get("msg")
    return result


LIVE_ARGS = "rd.live.image rd.live.dir=liveos rd.live.squashimg=rootfs.img rd.live.overlay.overlayfs"


def test_example1_result(ex1):
    assert ex1["changed"] is True and ex1["build_path"] == "full"
    assert re.match(r"^LIVE_[0-9A-F]{10}$", ex1["volume_label"])
    assert ex1["kernel_cmdline"].startswith("root=live:CDLABEL=%s %s " % (ex1["volume_label"], LIVE_ARGS))
    assert ex1["kernel_cmdline"].endswith(" ds=nocloud")
    assert "console=ttyS0,115200n8" in ex1["kernel_cmdline"]  # kept from the disk image's own boot entry
    assert ex1["boot_modes"] == ["bios", "uefi"] and ex1["secure_boot"] is True
    names = [s["name"] for s in ex1["steps"]]
    assert names == ["copy-input", "mount-image", "run-post-customization-scripts", "build-initrd", "make-squashfs",
                     "unmount-image", "make-boot-images", "write-iso", "checksum"]
    assert ex1["sha256"] == sha256(ex1["output"])
    assert leaks() == ("", [])


def test_example1_media_layout(ex1, tmp_path):
    iso = ex1["output"]
    files = iso_files(iso)
    for path in ("/boot/vmlinuz", "/boot/initrd.img", "/boot/grub/grub.cfg", "/boot/grub/bios.img",
                 "/boot/grub/efiboot.img", "/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/grubx64.efi", "/EFI/BOOT/mmx64.efi",
                 "/liveos/rootfs.img", "/.disk/info", "/liveiso/config.json", "/cloud-init-data/user-data",
                 "/cloud-init-data/meta-data", "/cloud-init-data/network-config"):
        assert path in files
    assert sh("xorriso", "-indev", iso, "-pvd_info").count(ex1["volume_label"]) >= 1
    el_torito = sh("xorriso", "-indev", iso, "-report_el_torito", "plain")
    assert re.search(r"El Torito boot img :\s+1\s+BIOS", el_torito) and re.search(r"img :\s+2\s+UEFI", el_torito)
    grub = iso_text(iso, "/boot/grub/grub.cfg", tmp_path)
    assert "linux /boot/vmlinuz %s" % ex1["kernel_cmdline"] in grub
    saved = json.loads(iso_text(iso, "/liveiso/config.json", tmp_path))
    assert saved["extra_args"] == ["ds=nocloud"] and saved["volume_label"] == ex1["volume_label"]
    assert sorted(saved["additional_files"]) == ["/cloud-init-data/meta-data", "/cloud-init-data/network-config",
                                                 "/cloud-init-data/user-data"]
    with open(os.path.join(DATA, "example1", "cloud-init-data", "meta-data")) as handle:
        assert iso_text(iso, "/cloud-init-data/meta-data", tmp_path) == handle.read()
    # the squashfs root: the seed symlink from the postCustomization script, no fstab, empty /boot
    rootfs = iso_extract(iso, "/liveos/rootfs.img", str(tmp_path / "rootfs.img"))
    listing = sh("unsquashfs", "-lls", "-d", "", rootfs)
    assert re.search(r"/var/lib/cloud/seed/nocloud -> /run/initramfs/live/cloud-init-data", listing)
    assert "/etc/os-release" in listing
    # the disk's fstab replaced by one that mounts nothing (dhclient-script exits without an /etc/fstab)
    assert sh("unsquashfs", "-cat", rootfs, "etc/fstab") == squashfs.LIVE_FSTAB
    assert not [line for line in listing.splitlines() if re.search(r" /boot/.", line)]
    # packed while dracut ran in the chroot: none of the chroot's API filesystems (nor dracut's work files on
    # its /run) got in; the mount points themselves did
    # (the image's own /dev nodes and /run files, on its root filesystem, are in it as before)
    for api in ("/dev", "/proc", "/sys", "/run"):
        assert re.search(r"^d\S+ .* %s$" % api, listing, re.M), api
    paths = [line.split(" -> ")[0].split()[-1] for line in listing.splitlines() if line.strip()]
    assert not [path for path in paths if path.startswith(("/proc/", "/sys/", "/dev/pts/", "/dev/loop"))]
    assert not [path for path in paths if "liveiso-initrd" in path]
    assert "make-squashfs ran alongside build-initrd" in " ".join(ex1["notes"])
    assert "zstd" in sh("unsquashfs", "-s", rootfs)


def test_example1_rerun_and_check_mode(ex1, base_dir, work):
    params = dict(image=os.path.join(base_dir, "base.qcow2"), output=ex1["output"], compression_level=LEVEL,
                  config_file=os.path.join(DATA, "example1", "config.yaml"))
    again = run_module(work, "image_customize", **params)
    assert again["changed"] is False and again["sha256"] == ex1["sha256"]
    assert again["volume_label"] == ex1["volume_label"]
    params["compression_level"] = LEVEL + 1
    checked = run_module(work, "image_customize", check=True, **params)
    assert checked["changed"] is True and sha256(ex1["output"]) == ex1["sha256"]


def test_recustomize_fast_path(ex1, site_b, tmp_path):
    assert site_b["changed"] is True and site_b["build_path"] == "remaster"
    assert [s["name"] for s in site_b["steps"]] == ["remaster-iso", "checksum"]
    # on xfs: a reflink of the input, the new session appended, the System Area (boot code, MBR, GPT) kept
    # but for the MBR and GPT sizes, fitted to the grown ISO
    assert site_b["copy_method"] == "reflink"
    assert "fast path: reflink copy of the input, changes appended (boot setup and squashfs kept)" \
        in site_b["notes"]
    assert "new session written here" in site_b["notes"]  # iso_session, not xorriso
    with open(site_b["base_copy"], "rb") as base, open(site_b["output"], "rb") as out:
        assert base.read(440) == out.read(440)
    # fdisk and sfdisk see tables that describe the grown ISO: no size mismatch, the backup GPT at the end,
    # the last partition (the ISO data after the EFI image) reaching the new session
    for argv in (["sfdisk", "--verify"], ["sfdisk", "-l"], ["fdisk", "-l"]):
        out = subprocess.run(argv + [site_b["output"]], check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True).stdout
        assert not re.search(r"(?i)warn|mismatch|not on the end|corrupt", out), out
    base_table, table = (json.loads(sh("sfdisk", "-J", path))["partitiontable"]
                         for path in (site_b["base_copy"], site_b["output"]))
    for part in base_table["partitions"] + table["partitions"]:
        del part["node"]  # the file's name and number
    sectors = os.path.getsize(site_b["output"]) // 512
    assert table["lastlba"] == sectors - 64 and table["id"] == base_table["id"]
    assert table["partitions"][:-1] == base_table["partitions"][:-1]
    assert table["partitions"][-1]["start"] + table["partitions"][-1]["size"] == sectors - 64
    assert table["partitions"][-1]["start"] == base_table["partitions"][-1]["start"]
    # its checksum was computed from the parts it was written from (head, input, session), not read back
    assert site_b["sha256"] == sha256(site_b["output"])
    assert site_b["volume_label"] != ex1["volume_label"]
    # earlier arguments first, then the new one; the label follows the new volume
    assert site_b["kernel_cmdline"] == ex1["kernel_cmdline"].replace(ex1["volume_label"], site_b["volume_label"]) \
        + " liveiso.site=b"
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    # every boot file stays as it was, the BIOS image and the boot catalog too (xorriso would write both anew)
    for name in ("/liveos/rootfs.img", "/boot/grub/efiboot.img", "/boot/initrd.img", "/boot/vmlinuz",
                 "/boot/grub/bios.img", "/boot.catalog"):
        assert sha256(iso_extract(site_b["base_copy"], name, str(old / os.path.basename(name)))) == \
            sha256(iso_extract(site_b["output"], name, str(new / os.path.basename(name)))), name
    with open(os.path.join(DATA, "example1-site-b", "cloud-init-data", "meta-data")) as handle:
        assert iso_text(site_b["output"], "/cloud-init-data/meta-data", tmp_path) == handle.read()
    saved = json.loads(iso_text(site_b["output"], "/liveiso/config.json", tmp_path))
    assert saved["extra_args"] == ["ds=nocloud", "liveiso.site=b"]


def test_fast_path_without_checksum(site_b, work, tmp_path):
    """checksum: false: no sha256 (null in result and stamp); a later run asking for it on the up-to-date ISO
    hashes it then, reports no change and leaves the ISO as it was."""
    with open(os.path.join(DATA, "example1-site-b", "iso.yaml")) as handle:
        iso = yaml.safe_load(handle)
    params = dict(image=site_b["base_copy"], output=str(tmp_path / "site-nosum.iso"), iso=iso,
                  config_dir=os.path.join(DATA, "example1-site-b"))
    first = run_module(work, "liveos_iso", checksum=False, **params)
    assert first["changed"] is True and first["build_path"] == "remaster" and first["sha256"] is None
    assert first["copy_method"] == "copy"  # tmp_path is not on xfs
    with open(params["output"] + ".liveiso.json") as handle:
        assert json.load(handle)["output"]["sha256"] is None
    mtime = os.stat(params["output"]).st_mtime_ns
    again = run_module(work, "liveos_iso", **params)
    assert again["changed"] is False and again["sha256"] == sha256(params["output"])
    assert os.stat(params["output"]).st_mtime_ns == mtime
    # the same build as the checksummed one: only the ISO's dates may differ (no source_date_epoch here)
    assert again["size"] == site_b["size"]
    # session_writer: xorriso makes xorriso write the new session (not part of the digest: force rebuilds)
    forced = run_module(work, "liveos_iso", session_writer="xorriso", force=True, **params)
    assert forced["changed"] is True and forced["build_path"] == "remaster"
    assert [note for note in forced["notes"] if note.startswith("new session written by xorriso")], forced["notes"]
    assert sh("xorriso", "-indev", params["output"], "-find", "/cloud-init-data", "-type", "f").count("\n") >= 3


def test_not_a_live_iso_fails_clearly(work, tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "readme.txt").write_text("not live\n")
    plain = str(tmp_path / "plain.iso")
    sh("xorriso", "-as", "mkisofs", "-V", "PLAIN", "-o", plain, str(tree))
    result = run_module(work, "liveos_iso", image=plain, output=str(tmp_path / "out.iso"))
    assert result.get("failed") and "not a Live OS ISO: it has no /liveos/rootfs.img" in result["msg"]
    result = run_module(work, "liveos_iso", image=plain, output=str(tmp_path / "out.iso"),
                        volume_label="X" * 33)
    assert result.get("failed") and "volume_label" in result["msg"] and "not a valid volume label" in result["msg"]
    result = run_module(work, "liveos_iso", image=plain, output=str(tmp_path / "out.iso"),
                        iso={"initramfsType": "full-os"})
    assert result.get("failed") and "config.iso.initramfsType: full-os is not supported" in result["msg"]
    assert not os.path.exists(str(tmp_path / "out.iso"))


def test_missing_dracut_live_names_the_package(base_dir, work, tmp_path):
    result = run_module(work, "image_customize", image=os.path.join(base_dir, "base.raw"),
                        output=str(tmp_path / "nodracut.iso"),
                        config={"os": {"packages": {"remove": ["dracut-live"]}}})
    assert result.get("failed")
    assert "has no dmsquash-live module" in result["msg"] and "os.packages.install: [dracut-live]" in result["msg"]
    assert leaks() == ("", [])
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []


def test_reproducible_with_source_date_epoch(base_dir, work, tmp_path):
    outputs = []
    for name in ("a.iso", "b.iso"):
        result = run_module(work, "liveos_iso", image=os.path.join(base_dir, "base.raw"),
                            output=str(tmp_path / name), compression="lz4", source_date_epoch=1700000000,
                            volume_label="REPRO", iso={"kernelCommandLine": {"extraCommandLine": ["quiet"]}})
        assert not result.get("failed"), result.get("msg")
        outputs.append(result)
    assert outputs[0]["sha256"] == outputs[1]["sha256"]


@pytest.fixture(scope="module")
def mic_iso(ex1, work):
    """An ISO in the reference tool's layout (UEFI only, label CDROM, /boot/grub2/grub.cfg, /liveos/rootfs.img,
    versioned kernel and initramfs names, no saved config of ours), made from Example 1's root filesystem."""
    tree = os.path.join(work, "mic-tree")
    os.makedirs(os.path.join(tree, "boot", "grub2"))
    os.makedirs(os.path.join(tree, "liveos"))
    iso_extract(ex1["output"], "/liveos/rootfs.img", os.path.join(tree, "liveos", "rootfs.img"))
    version = "6.1.0-mic"
    iso_extract(ex1["output"], "/boot/vmlinuz", os.path.join(tree, "boot", "vmlinuz-" + version))
    iso_extract(ex1["output"], "/boot/initrd.img", os.path.join(tree, "boot", "initramfs-%s.img" % version))
    iso_extract(ex1["output"], "/boot/grub/efiboot.img", os.path.join(tree, "boot", "grub2", "efiboot.img"))
    with open(os.path.join(tree, "boot", "grub2", "grub.cfg"), "w") as handle:
        handle.write("set timeout=0\nmenuentry 'CBL-Mariner' {\n"
                     "  linux /boot/vmlinuz-%s root=live:LABEL=CDROM rd.live.image rd.live.dir=liveos "
                     "rd.live.squashimg=rootfs.img rd.live.overlay=1 rd.live.overlay.overlayfs "
                     "console=ttyS0 ds=nocloud mic.kept=1\n"
                     "  initrd /boot/initramfs-%s.img\n}\n" % (version, version))
    output = os.path.join(work, "mic.iso")
    sh("xorriso", "-as", "mkisofs", "-R", "-l", "-D", "-J", "-joliet-long", "-V", "CDROM", "-eltorito-alt-boot",
       "-e", "boot/grub2/efiboot.img", "-no-emul-boot", "-o", output, tree)
    return output


@pytest.fixture(scope="module")
def from_mic(mic_iso, work):
    """The reference tool's ISO through liveos_iso, with site b's seed on the media."""
    with open(os.path.join(DATA, "example1-site-b", "iso.yaml")) as handle:
        iso = yaml.safe_load(handle)
    before = sha256(mic_iso)
    result = run_module(work, "liveos_iso", image=mic_iso, output=os.path.join(work, "from-mic.iso"), iso=iso,
                        config_dir=os.path.join(DATA, "example1-site-b"), compression_level=LEVEL)
    assert not result.get("failed"), result.get("msg")
    assert sha256(mic_iso) == before
    return result


def test_reference_layout_iso_is_rebuilt(from_mic, tmp_path):
    """Its kernel arguments (not the live ones: those are ours now) come first, then the new ones; the media
    get our layout, both boot modes and a label of their own."""
    assert from_mic["changed"] is True and from_mic["build_path"] == "rebuild-from-iso"
    assert from_mic["boot_modes"] == ["bios", "uefi"] and from_mic["volume_label"] != "CDROM"
    args = from_mic["kernel_cmdline"].split()
    assert args[:2] == ["root=live:CDLABEL=%s" % from_mic["volume_label"], "rd.live.image"]
    assert "root=live:LABEL=CDROM" not in args and "rd.live.overlay=1" not in args
    assert args[-4:] == ["console=ttyS0", "ds=nocloud", "mic.kept=1", "liveiso.site=b"]
    files = iso_files(from_mic["output"])
    for path in ("/liveos/rootfs.img", "/boot/vmlinuz", "/boot/initrd.img", "/boot/grub/grub.cfg",
                 "/liveiso/config.json", "/cloud-init-data/meta-data"):
        assert path in files, path
    assert "/boot/grub2/grub.cfg" not in files
    saved = json.loads(iso_text(from_mic["output"], "/liveiso/config.json", tmp_path))
    assert saved["extra_args"] == ["liveiso.site=b"]


# ---------------------------------------------------------------- boots

def report(text):
    clean = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    body = clean.split("LIVEISO-REPORT-BEGIN")[-1].split("LIVEISO-REPORT-END")[0]
    facts = {}
    for line in body.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isalpha():
            facts[key] = value.strip()
    facts["text"] = body
    facts["log"] = clean
    return facts


FAIL_ON = r"Failed to mount sysroot|Entering emergency mode|Kernel panic"

# every boot of this module: log name -> (the fixture that builds the medium, firmware, media, the test that checks it)
BOOTS = {
    "ex1-uefi-cd": ("ex1", "uefi", "cdrom", "test_boot_example1_ovmf_cd"),
    "ex1-uefi-disk": ("ex1", "uefi", "disk", "test_boot_example1_ovmf_usb_disk"),
    "siteb-bios-disk": ("site_b", "bios", "disk", "test_boot_recustomized_reflinked_usb_disk[bios]"),
    "siteb-uefi-disk": ("site_b", "uefi", "disk", "test_boot_recustomized_reflinked_usb_disk[uefi]"),
    "from-mic-bios-cd": ("from_mic", "bios", "cdrom", "test_boot_from_reference_layout_seabios_cd"),
    "ex2-secureboot": ("ex2", "uefi-secure", "cdrom", "test_boot_example2_secure_boot_enforced"),
}


@pytest.fixture(scope="module")
def boots(request, work):
    """The serial logs of the boots of the boot tests selected in this session, booted two at a time with one
    vCPU each (qemu_boot.boot_many: less wall time than one after the other, see docs/performance.md). A boot whose
    medium failed to build is left out (its test errors on that fixture); a boot that failed is its test's
    BootTimeout."""
    selected = {item.name for item in request.session.items if item.module is request.module}
    wanted = {}
    for name, (fixture, firmware, media, test) in BOOTS.items():
        if test not in selected:
            continue
        try:
            result = request.getfixturevalue(fixture)
        except (Exception, pytest.skip.Exception, pytest.fail.Exception):  # noqa: BLE001 - its test reports it
            continue
        wanted[name] = dict(image=result["output"], log=os.path.join(work, "boot-%s.log" % name),
                            until="LIVEISO-REPORT-END", firmware=firmware, media=media, timeout=1200,
                            fail_on=FAIL_ON)
    return qemu_boot.boot_many(wanted)


def boot_and_check(result, boots, name, hostname, marker, seed):
    assert name in boots, "the boots fixture did not boot %s: is it in BOOTS under this test's name?" % name
    text = boots[name]
    if isinstance(text, BaseException):
        raise text
    return check_boot(result, text, hostname, marker, seed)


def check_boot(result, text, hostname, marker, seed):
    """The checks every Live ISO boot makes on its serial log ``text``; returns the report's facts."""
    facts = report(text)
    assert facts["cmdline"] == "BOOT_IMAGE=/boot/vmlinuz " + result["kernel_cmdline"], facts["text"]
    assert facts["root"] == "LiveOS_rootfs overlay", facts["text"]
    assert facts["medium"] == "iso9660", facts["text"]
    assert facts["hostname"] == hostname, facts["text"]
    assert facts["seed"] == seed, facts["text"]
    assert "status: done" in facts["text"], facts["text"]
    assert "LIVEISO-MARKER %s" % marker in facts["log"]
    return facts


@pytest.mark.qemu
def test_boot_example1_ovmf_cd(ex1, boots):
    facts = boot_and_check(ex1, boots, "ex1-uefi-cd", "site-a-host", "example1-site-a",
                           "/run/initramfs/live/cloud-init-data")
    assert facts["secureboot"] == "0"


@pytest.mark.qemu
def test_boot_example1_ovmf_usb_disk(ex1, boots):
    boot_and_check(ex1, boots, "ex1-uefi-disk", "site-a-host", "example1-site-a",
                   "/run/initramfs/live/cloud-init-data")


@pytest.mark.qemu
@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_boot_recustomized_reflinked_usb_disk(site_b, boots, firmware):
    """The grown ISO as a USB stick: the kept MBR (BIOS) and GPT (UEFI) still lead to the boot images."""
    facts = boot_and_check(site_b, boots, "siteb-%s-disk" % firmware, "site-b-host", "example1-site-b",
                           "/run/initramfs/live/cloud-init-data")
    assert facts["cmdline"].endswith("ds=nocloud liveiso.site=b")
    assert facts["instance"] == "instance-id: liveiso-site-b"


@pytest.mark.qemu
def test_boot_from_reference_layout_seabios_cd(from_mic, boots):
    """SeaBIOS from CD (a boot costs two minutes: this one is the BIOS CD case of every ISO we write, as all go
    through write_full_iso): the reference tool's UEFI-only ISO, rebuilt by us, boots on BIOS with its own
    arguments, the new seed from the media, the live overlay root and cloud-init done."""
    facts = boot_and_check(from_mic, boots, "from-mic-bios-cd", "site-b-host", "example1-site-b",
                           "/run/initramfs/live/cloud-init-data")
    assert "mic.kept=1 liveiso.site=b" in facts["cmdline"]


@pytest.mark.qemu
def test_boot_example2_secure_boot_enforced(ex2, boots):
    assert ex2["secure_boot"] is True
    facts = boot_and_check(ex2, boots, "ex2-secureboot", "example2-host", "example2",
                           "/var/lib/cloud/seed/nocloud")
    # counted in the guest's kernel log (dmesg): the console is quiet, so it is not on the serial log
    assert facts["secureboot"] == "1"
