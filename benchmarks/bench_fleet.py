# SPDX-License-Identifier: GPL-3.0-or-later
"""A 20-site fleet from one base ISO: seconds per site against `cp`, the no-change rerun, and reflinks.

1. Base ISO from the cached raw base image (liveos_iso, zstd level 3).
2. 20 per-site ISOs (each with its own three-file seed) through the remaster fast path into a directory on
   the build filesystem (ext4 here: no reflinks, so an in-kernel copy of the base), each paired with a `cp`
   of the base ISO just before it (each side after `sync`, so both meet the same writeback state).
3. The same 20 again with nothing changed (stamps): seconds per site.
4. The same 20 from the same kind of base ISO (BIOS + UEFI) on an xfs filesystem with reflinks (a loop file
   made by this benchmark): reflink copy of the base plus the new session; then again with checksum: false,
   and 5 sites each way from a base 1 GiB larger (what grows with the base and what does not).
Each fast-path build's steps are kept, so the copy/append and the sha256 of the output are reported apart.
Run as root: python3 benchmarks/bench_fleet.py
"""

import contextlib
import os
import shutil
import subprocess
import tempfile

from common import base_image, cp_seconds, paired, save, sh, timed

from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._build.stamp import write_stamp
from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest

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


def site_builds(base, out_dir, seeds_dir, label=None, sites=SITES, cp_dir=None, checksum=True):
    """Build ``sites`` site ISOs from ``base``; with ``cp_dir``, each build is paired with a `cp` of the base
    just before it (both after `sync`), so both sides see the same writeback state. Returns
    (seconds per site, fast-path notes, cp seconds per site)."""
    seconds, paths, cps = [], set(), []
    for index in range(sites):
        config = parse_config(seed(os.path.join(seeds_dir, "site-%02d" % index), index))
        if cp_dir:
            cps.append(cp_seconds(base, cp_dir))
        sh("sync")
        took, result = timed(build_live_iso, LiveIsoRequest(
            image=base, output=os.path.join(out_dir, "site-%02d.iso" % index), config=config, checksum=checksum))
        seconds.append(took)
        paths.update(note for note in result.get("notes", []) if note.startswith("fast path"))
        if label:
            for step in result.get("steps", []):
                STEPS.setdefault(label, {}).setdefault(step["name"], []).append(step["seconds"])
    return seconds, sorted(paths), cps


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
    ordered = sorted(values)
    return {"mean": round(sum(values) / len(values), 3), "max": round(max(values), 3),
            "min": round(min(values), 3), "median": round(ordered[len(ordered) // 2], 3)}


def grow_base(base, dest, work, mib):
    """``base`` plus a ``mib`` MiB file on the media (through the fast path): a larger base, same boot setup."""
    filler = os.path.join(work, "filler.bin")
    with open(filler, "wb") as handle:
        for dummy in range(mib):
            handle.write(os.urandom(1 << 20))
    build_live_iso(LiveIsoRequest(image=base, output=dest, config=parse_config(
        {"iso": {"additionalFiles": [{"source": filler, "destination": "/filler.bin"}]}})))
    os.unlink(filler)
    return dest


def main():
    base_image.ensure()
    work = tempfile.mkdtemp(prefix="bench-fleet-", dir="/var/tmp")
    try:
        base = os.path.join(work, "base.iso")
        base_s, result = timed(build_live_iso, LiveIsoRequest(
            image=base_image.image_path("raw"), output=base, config=parse_config({}), compression_level=3))
        sh("cp", base, os.path.join(work, "warm.iso"))  # warm page cache, as for the site builds
        os.unlink(os.path.join(work, "warm.iso"))
        os.makedirs(os.path.join(work, "sites"))
        first, paths, cps = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"), "copy",
                                        cp_dir=work)
        again = site_builds(base, os.path.join(work, "sites"), os.path.join(work, "seeds"))[0]
        data = {
            "sites": SITES,
            "base_iso_mib": round(result["size"] / 1048576.0, 1),
            "base_build_seconds": round(base_s, 1),
            "cp_seconds": dict(summary(cps)),
            "copy_and_append": dict(summary(first), paths=paths, **paired(first, cps)),
            "no_change_rerun": summary(again),
            "targets": {"ratio_to_cp": 1.5, "rerun_seconds": 1.0, "reflink_seconds": 1.0},
        }
        save("fleet", data)
        with xfs_mount(work, "12G") as mnt:
            xbase = os.path.join(mnt, "base.iso")
            shutil.copyfile(base, xbase)
            # with a stamp of its own, as a base built there has: the sites reuse its sha256 for their digest
            write_stamp(xbase, result["digest"], None, None, result["sha256"])
            os.makedirs(os.path.join(mnt, "sites"))
            reflinked, xpaths = site_builds(xbase, os.path.join(mnt, "sites"), os.path.join(work, "xseeds"),
                                            "reflink")[:2]
            shared = sum(1 for line in sh("xfs_io", "-c", "fiemap -v",
                                          os.path.join(mnt, "sites", "site-00.iso")).splitlines()
                         if line.split() and line.split()[-1].startswith("0x") and int(line.split()[-1], 16) & 0x2000)
            xbase_mib = round(os.path.getsize(xbase) / 1048576.0, 1)
            os.makedirs(os.path.join(mnt, "sites-nosum"))
            nosum = site_builds(xbase, os.path.join(mnt, "sites-nosum"), os.path.join(work, "xseeds"),
                                "reflink-no-checksum", checksum=False)[0]
            # the same on a base 1 GiB larger: what grows with the base and what does not
            big = grow_base(xbase, os.path.join(mnt, "big.iso"), work, 1024)
            big_mib = round(os.path.getsize(big) / 1048576.0, 1)
            subprocess.run(["cat", big], check=True, stdout=subprocess.DEVNULL)  # in the page cache, as the base
            os.makedirs(os.path.join(mnt, "big-sites"))
            os.makedirs(os.path.join(mnt, "big-sites-nosum"))
            big_sum = site_builds(big, os.path.join(mnt, "big-sites"), os.path.join(work, "bseeds"), sites=5)[0]
            big_nosum = site_builds(big, os.path.join(mnt, "big-sites-nosum"), os.path.join(work, "bseeds"),
                                    sites=5, checksum=False)[0]
        data["reflink_xfs"] = dict(summary(reflinked), paths=xpaths, shared_extents_lines=shared,
                                   base_iso_mib=xbase_mib, boot_modes=["bios", "uefi"])
        data["reflink_xfs_no_checksum"] = dict(summary(nosum), base_iso_mib=xbase_mib)
        data["reflink_xfs_big_base"] = {"base_iso_mib": big_mib, "sites": 5, "checksum": summary(big_sum),
                                        "no_checksum": summary(big_nosum)}
        data["steps"] = {label: {name: summary(values) for name, values in steps.items()}
                         for label, steps in STEPS.items()}
        save("fleet", data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
