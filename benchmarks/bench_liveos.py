# SPDX-License-Identifier: GPL-3.0-or-later
"""Live ISO builds against the floor, the fast path against cp, and the squashfs compressors.

1. Disk image -> ISO. Floor: the same dracut, mksquashfs, grub-mkimage/mkfs.vfat/mcopy and xorriso commands run
   directly on the same (read-only mounted) root filesystem of the raw base image. Ours: liveos_iso's pipeline.
2. ISO-only re-customization (new seed files) against `cp` of the same ISO: page cache warm, `sync` before
   each run of either side (so neither pays for the other's writeback), each run paired with a `cp` just
   before it, 5 runs with the checksum and 5 without.
3. mksquashfs of the same root with zstd (default level and 3), xz, gzip, lz4: seconds and bytes.
Run as root: python3 benchmarks/bench_liveos.py [--skip-compressors | --remaster-only]
"""

import json
import os
import shutil
import sys
import tempfile

from common import base_image, cp_seconds, drop_caches, paired, save, settle, sh, timed

from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso as iso_media
from ansible_collections.liveiso.customizer.plugins.module_utils._live import initrd as live_initrd
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest
from ansible_collections.liveiso.customizer.plugins.module_utils._live.squashfs import mksquashfs_argv


class MountedRoot(object):
    """The raw image's root filesystem mounted read-only with /dev /proc /sys /run, by hand."""

    def __init__(self, raw, mnt):
        self.raw, self.mnt, self.loop, self.binds = raw, mnt, None, []

    def __enter__(self):
        part = [p for p in json.loads(sh("sfdisk", "-J", self.raw))["partitiontable"]["partitions"]
                if p["type"].upper() != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"][0]
        self.loop = sh("losetup", "--find", "--show", "--read-only", "--offset", part["start"] * 512,
                       "--sizelimit", part["size"] * 512, self.raw).strip()
        os.makedirs(self.mnt, exist_ok=True)
        sh("mount", "-o", "ro,noload", self.loop, self.mnt)
        return self

    def chroot_mounts(self):
        for name, args in (("dev", ["--bind", "/dev"]), ("proc", ["-t", "proc", "proc"]),
                           ("sys", ["-t", "sysfs", "sysfs"]), ("run", ["-t", "tmpfs", "tmpfs"])):
            sh("mount", *args, os.path.join(self.mnt, name))
            self.binds.append(os.path.join(self.mnt, name))

    def chroot_unmount(self):
        while self.binds:
            sh("umount", self.binds.pop())

    def __exit__(self, *exc):
        self.chroot_unmount()
        sh("umount", self.mnt)
        sh("losetup", "-d", self.loop)


def floor(raw, work):
    """The raw commands, timed as a whole (mount to ISO)."""
    out = os.path.join(work, "floor")
    os.makedirs(out)
    with MountedRoot(raw, os.path.join(work, "floor-mnt")) as root:
        root.chroot_mounts()
        version = sorted(n[8:] for n in os.listdir(os.path.join(root.mnt, "boot")) if n.startswith("vmlinuz-"))[-1]
        os.makedirs(os.path.join(root.mnt, live_initrd.WORK.lstrip("/")))
        sh("chroot", root.mnt, *live_initrd.dracut_argv(version, live_initrd.WORK + "/initrd.img"))
        shutil.copyfile(os.path.join(root.mnt, live_initrd.WORK.lstrip("/"), "initrd.img"),
                        os.path.join(out, "initrd.img"))
        root.chroot_unmount()
        shutil.copyfile(os.path.join(root.mnt, "boot/vmlinuz-" + version), os.path.join(out, "vmlinuz"))
        sh(*mksquashfs_argv(root.mnt, os.path.join(out, "rootfs.img")))
        chain = {"BOOTX64.EFI": root.mnt + "/usr/lib/shim/shimx64.efi.signed",
                 "grubx64.efi": root.mnt + "/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed",
                 "mmx64.efi": root.mnt + "/usr/lib/shim/mmx64.efi.signed"}
        bios = boot_loader.make_bios_image(out, "0123456789abcdef")
        efi = boot_loader.make_efi_image(out, "0123456789abcdef", chain)[0]
    with open(os.path.join(out, "grub.cfg"), "w") as handle:
        handle.write(boot_loader.grub_cfg(["root=live:CDLABEL=FLOOR"]))
    grafts = [("/boot/grub/bios.img", bios), ("/boot/grub/efiboot.img", efi), ("/boot/vmlinuz", out + "/vmlinuz"),
              ("/boot/initrd.img", out + "/initrd.img"), ("/liveos/rootfs.img", out + "/rootfs.img"),
              ("/boot/grub/grub.cfg", out + "/grub.cfg")]
    sh(*iso_media.mkisofs_argv(os.path.join(work, "floor.iso"), "FLOOR", grafts, ("bios", "uefi"),
                               "/boot/grub/bios.img", "/boot/grub/efiboot.img"))


def ours(raw, output, config=None):
    return build_live_iso(LiveIsoRequest(image=raw, output=output, config=parse_config(config or {}, HERE_DATA)))


HERE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration", "data",
                         "example1-site-b")
SEED = {"iso": {"additionalFiles": {"cloud-init-data/user-data": "/cloud-init-data/user-data",
                                    "cloud-init-data/meta-data": "/cloud-init-data/meta-data",
                                    "cloud-init-data/network-config": "/cloud-init-data/network-config"}}}


def compressors(raw, work):
    rows = []
    with MountedRoot(raw, os.path.join(work, "comp-mnt")) as root:
        for comp, level in (("zstd", None), ("zstd", 3), ("xz", None), ("gzip", None), ("lz4", None)):
            dest = os.path.join(work, "c.img")
            seconds = timed(sh, *mksquashfs_argv(root.mnt, dest, comp, level))[0]
            rows.append({"compression": comp, "level": level or "default", "seconds": round(seconds, 1),
                         "mib": round(os.path.getsize(dest) / 1048576.0, 1)})
            os.unlink(dest)
    return rows


SETTLE = 6  # seconds after `sync`: past ext4's 5 s journal commit, so every side meets an idle disk


def remaster_runs(base, work, runs=5):
    """The fast path (seed swap + one argument) with and without checksum, each run paired with floors run
    just before it: `cp` of the same ISO, and `cp` + `sync` (+ `openssl dgst -sha256` for the checksum runs),
    which delivers what the build does (the output on disk, and its sha256). Every side starts on an idle disk
    (`sync`, then SETTLE seconds) with the ISO just read into the page cache."""
    floors = {name: [] for name in ("cp", "cp_sync_sha256", "cp_nosum", "cp_sync")}
    fast, nosum, steps, writers = [], [], {}, set()
    for index in range(runs):
        for checksum, times in ((True, fast), (False, nosum)):
            if checksum:
                floors["cp_sync_sha256"].append(cp_seconds(base, work, then_sync=True, then_sha256=True,
                                                           settle_seconds=SETTLE))
                floors["cp"].append(cp_seconds(base, work, settle_seconds=SETTLE))
            else:
                floors["cp_sync"].append(cp_seconds(base, work, then_sync=True, settle_seconds=SETTLE))
                floors["cp_nosum"].append(cp_seconds(base, work, settle_seconds=SETTLE))
            settle(SETTLE, warm=base)
            took, result = timed(build_live_iso, LiveIsoRequest(
                image=base, output=os.path.join(work, "site%d-%s.iso" % (index, checksum)), checksum=checksum,
                config=parse_config(dict(SEED, iso=dict(SEED["iso"], kernelCommandLine={
                    "extraCommandLine": ["site=%d" % index]})), HERE_DATA)))
            times.append(took)
            # removed like cp's copy: a kept output would leave the next side to get fresh memory from this VM's
            # host (slow first touch) while the other reuses freed pages
            for path in (result["output"], result["output"] + ".liveiso.json"):
                os.unlink(path)
            writers.update(n for n in result["notes"] if n.startswith("new session written"))
            for step in result["steps"]:
                steps.setdefault("%s%s" % (step["name"], "" if checksum else " (no checksum)"), []).append(
                    step["seconds"])
    pair = {"target_ratio": 1.5, "session": sorted(writers), "settle_seconds": SETTLE,
            "iso_mib": round(os.path.getsize(base) / 1048576.0, 1),
            "steps": {name: round(sum(v) / len(v), 3) for name, v in steps.items()}}
    for name, times, floor in (("checksum", fast, "cp"), ("checksum_vs_cp_sync_sha256", fast, "cp_sync_sha256"),
                               ("no_checksum", nosum, "cp_nosum"), ("no_checksum_vs_cp_sync", nosum, "cp_sync")):
        pair[name] = dict(paired(times, floors[floor]), ours_seconds=[round(s, 2) for s in times],
                          cp_seconds=[round(s, 2) for s in floors[floor]])
    return pair


def main():
    base_image.ensure()
    raw = base_image.image_path("raw")
    work = tempfile.mkdtemp(prefix="bench-liveos-", dir="/var/tmp")
    try:
        base = os.path.join(work, "base.iso")
        data = {}
        if "--remaster-only" in sys.argv:  # a base ISO at zstd level 3 (as the fleet's), then only part 2
            build_live_iso(LiveIsoRequest(image=raw, output=base, config=parse_config({}), compression_level=3))
        else:
            drop_caches()
            floor_s = timed(floor, raw, work)[0]
            drop_caches()
            ours_s, result = timed(ours, raw, base)
            data["iso_build"] = {"floor_seconds": round(floor_s, 1), "ours_seconds": round(ours_s, 1),
                                 "ratio": round(ours_s / floor_s, 3), "target_ratio": 1.15,
                                 "ours_steps": {s["name"]: s["seconds"] for s in result["steps"]},
                                 "iso_mib": round(result["size"] / 1048576.0, 1)}
        data["remaster"] = remaster_runs(base, work)
        if "--skip-compressors" not in sys.argv and "--remaster-only" not in sys.argv:
            data["compressors"] = compressors(raw, work)
        save("liveos" if "--remaster-only" not in sys.argv else "liveos-remaster", data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
