"""A 20-site fleet from one base ISO: seconds per site against `cp`, the no-change rerun, and reflinks.

1. Base ISO from the cached raw base image (liveos_iso, zstd level 3).
2. 20 per-site ISOs (each with its own three-file seed) through the remaster fast path into a directory on
   the build filesystem (ext4 here: no reflinks, so an in-kernel copy of the base plus an in-place append),
   against `cp` of the base ISO (each side after `sync`, best and mean reported).
3. The same 20 again with nothing changed (stamps): seconds per site.
4. The same 20 from the same kind of base ISO (BIOS + UEFI) on an xfs filesystem with reflinks (a loop file
   made by this benchmark): reflink copy of the base plus an in-place xorriso append of the seed.
Each fast-path build's steps are kept, so the copy/append and the sha256 of the output are reported apart.
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


STEPS = {}


def site_builds(base, out_dir, seeds_dir, label=None):
    seconds, paths = [], set()
    for index in range(SITES):
        config = parse_config(seed(os.path.join(seeds_dir, "site-%02d" % index), index))
        sh("sync")
        took, result = timed(build_live_iso, LiveIsoRequest(
            image=base, output=os.path.join(out_dir, "site-%02d.iso" % index), config=config))
        seconds.append(took)
        paths.update(note for note in result.get("notes", []) if note.startswith("fast path"))
        if label:
            for step in result.get("steps", []):
                STEPS.setdefault(label, {}).setdefault(step["name"], []).append(step["seconds"])
    return seconds, sorted(paths)


def cp_seconds(base, work):
    times = []
    for index in range(5):
        sh("sync")
        times.append(timed(sh, "cp", base, os.path.join(work, "cp%d.iso" % index))[0])
    for index in range(5):
        os.unlink(os.path.join(work, "cp%d.iso" % index))
    return times


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
        os.unlink(os.path.join(work, "warm.iso"))
        cps = cp_seconds(base, work)
        cp_s = sum(cps) / len(cps)
        os.makedirs(os.path.join(work, "sites"))
        first, paths = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"), "copy")
        again = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"))[0]
        data = {
            "sites": SITES,
            "base_iso_mib": round(result["size"] / 1048576.0, 1),
            "base_build_seconds": round(base_s, 1),
            "cp_seconds": dict(summary(cps)),
            "copy_and_append": dict(summary(first), ratio_to_cp=round(sum(first) / len(first) / cp_s, 2),
                                    paths=paths),
            "no_change_rerun": summary(again),
            "targets": {"ratio_to_cp": 1.5, "rerun_seconds": 1.0, "reflink_seconds": 1.0},
        }
        save("fleet", data)
        with xfs_mount(work, "12G") as mnt:
            xbase = os.path.join(mnt, "base.iso")
            shutil.copyfile(base, xbase)
            os.makedirs(os.path.join(mnt, "sites"))
            reflinked, xpaths = site_builds(xbase, os.path.join(mnt, "sites"), os.path.join(work, "xseeds"),
                                            "reflink")
            shared = sum(1 for line in sh("xfs_io", "-c", "fiemap -v",
                                          os.path.join(mnt, "sites", "site-00.iso")).splitlines()
                         if line.split() and line.split()[-1].startswith("0x") and int(line.split()[-1], 16) & 0x2000)
            xbase_mib = round(os.path.getsize(xbase) / 1048576.0, 1)
        data["reflink_xfs"] = dict(summary(reflinked), paths=xpaths, shared_extents_lines=shared,
                                   base_iso_mib=xbase_mib, boot_modes=["bios", "uefi"])
        data["steps"] = {label: {name: summary(values) for name, values in steps.items()}
                         for label, steps in STEPS.items()}
        save("fleet", data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
