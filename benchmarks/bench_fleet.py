"""A 20-site fleet from one base ISO: seconds per site against `cp`, the no-change rerun, and reflinks.

1. Base ISO from the cached raw base image (liveos_iso, zstd level 3).
2. 20 per-site ISOs (each with its own three-file seed) through the remaster fast path into a directory on
   the build filesystem (ext4 here: no reflinks, so the ISO is streamed), against `cp` of the base ISO.
3. The same 20 again with nothing changed (stamps): seconds per site.
4. The same 20 from a BIOS-only base ISO on an xfs filesystem with reflinks (a loop file made by this
   benchmark): reflink copy of the base plus an in-place xorriso append of the seed. (UEFI ISOs are always
   streamed: xorriso cannot re-expose their EFI boot image as a GPT partition when growing in place.)
Run as root: python3 benchmarks/bench_fleet.py
"""

import contextlib
import os
import shutil
import tempfile

from common import base_image, save, sh, timed

from ansible_collections.liveiso.customizer.plugins.module_utils.config import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils.liveos import LiveIsoRequest, build_live_iso

SITES = 20


def seed(directory, index):
    os.makedirs(directory, exist_ok=True)
    files = {
        "meta-data": "instance-id: site-%02d\nlocal-hostname: site-%02d\n" % (index, index),
        "user-data": "#cloud-config\nruncmd:\n  - echo site-%02d > /etc/site\n" % index,
        "network-config": "version: 2\nethernets:\n  nics:\n    match: {name: \"en*\"}\n    dhcp4: true\n",
    }
    for name, text in files.items():
        with open(os.path.join(directory, name), "w") as handle:
            handle.write(text)
    return {"iso": {"additionalFiles": [{"source": os.path.join(directory, name),
                                         "destination": "/cloud-init-data/" + name} for name in files]}}


def site_builds(base, out_dir, seeds_dir):
    seconds, paths = [], set()
    for index in range(SITES):
        config = parse_config(seed(os.path.join(seeds_dir, "site-%02d" % index), index))
        took, result = timed(build_live_iso, LiveIsoRequest(
            image=base, output=os.path.join(out_dir, "site-%02d.iso" % index), config=config))
        seconds.append(took)
        paths.update(note for note in result.get("notes", []) if note.startswith("fast path"))
    return seconds, sorted(paths)


@contextlib.contextmanager
def xfs_mount(work, size="6G"):
    image = os.path.join(work, "xfs.img")
    mnt = os.path.join(work, "xfs")
    os.makedirs(mnt)
    sh("truncate", "-s", size, image)
    sh("mkfs.xfs", "-q", "-m", "reflink=1", image)
    loop = sh("losetup", "--find", "--show", image).strip()
    try:
        sh("mount", loop, mnt)
        try:
            yield mnt
        finally:
            sh("umount", mnt)
    finally:
        sh("losetup", "-d", loop)


def summary(values):
    return {"mean": round(sum(values) / len(values), 3), "max": round(max(values), 3),
            "min": round(min(values), 3)}


def main():
    base_image.ensure()
    work = tempfile.mkdtemp(prefix="bench-fleet-", dir="/var/tmp")
    try:
        base = os.path.join(work, "base.iso")
        base_s, result = timed(build_live_iso, LiveIsoRequest(
            image=base_image.image_path("raw"), output=base, config=parse_config({}), compression_level=3))
        sh("cp", base, os.path.join(work, "warm.iso"))  # warm page cache, as for the site builds
        cp_s = min(timed(sh, "cp", base, os.path.join(work, "cp.iso"))[0] for dummy in range(3))
        os.makedirs(os.path.join(work, "sites"))
        first, paths = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"))
        again = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"))[0]
        data = {
            "sites": SITES,
            "base_iso_mib": round(result["size"] / 1048576.0, 1),
            "base_build_seconds": round(base_s, 1),
            "cp_seconds": round(cp_s, 3),
            "streamed": dict(summary(first), ratio_to_cp=round(sum(first) / len(first) / cp_s, 2), paths=paths),
            "no_change_rerun": summary(again),
            "targets": {"streamed_ratio_to_cp": 1.5, "rerun_seconds": 1.0, "reflink_seconds": 1.0},
        }
        save("fleet", data)
        with xfs_mount(work, "12G") as mnt:
            xbase = os.path.join(mnt, "base.iso")
            build_live_iso(LiveIsoRequest(image=base_image.image_path("raw"), output=xbase, config=parse_config({}),
                                          compression="lz4", boot_modes=("bios",)))
            os.makedirs(os.path.join(mnt, "sites"))
            reflinked, xpaths = site_builds(xbase, os.path.join(mnt, "sites"), os.path.join(work, "xseeds"))
            shared = sum(1 for line in sh("xfs_io", "-c", "fiemap -v",
                                          os.path.join(mnt, "sites", "site-00.iso")).splitlines()
                         if line.split() and line.split()[-1].startswith("0x") and int(line.split()[-1], 16) & 0x2000)
            xbase_mib = round(os.path.getsize(xbase) / 1048576.0, 1)
        data["reflink_xfs"] = dict(summary(reflinked), paths=xpaths, shared_extents_lines=shared,
                                   base_iso_mib=xbase_mib, boot_modes=["bios"])
        save("fleet", data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
