# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the Markdown tables of docs/performance.md from benchmarks/results/*.json."""

import json
import os

from common import RESULTS


def load(name):
    path = os.path.join(RESULTS, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def main():
    customize = load("customize")
    if customize:
        print("| image_customize, every key, qcow2 (ansible-playbook) | floor: same packages by hand in a chroot"
              " | ratio | target |")
        print("|---|---|---|---|")
        print("| %.1f s | %.1f s | %.2f | < %.1f |" % (
            customize["ours_seconds"], customize["floor_seconds"], customize["ratio"], customize["target_ratio"]))
        print()
        print("Steps: " + ", ".join("%s %.1f s" % kv for kv in customize["ours_steps"].items()))
        print()
    liveos = load("liveos")
    if liveos and liveos.get("iso_build"):
        build = liveos["iso_build"]
        print("| disk image -> ISO | ours | floor (same dracut, mksquashfs, grub-mkimage, mtools, xorriso)"
              " | ratio | target |")
        print("|---|---|---|---|---|")
        print("| raw base image, zstd default | %.1f s | %.1f s | %.3f | < %.2f |" % (
            build["ours_seconds"], build["floor_seconds"], build["ratio"], build["target_ratio"]))
        print()
        print("Steps: " + ", ".join("%s %.1f s" % kv for kv in build["ours_steps"].items()))
        print()
    for name in ("liveos", "liveos-remaster"):
        data = load(name)
        if data and data.get("remaster"):
            remaster_table(data["remaster"])
    if liveos and liveos.get("compressors"):
        print("| compressor | level | mksquashfs seconds | squashfs MiB |")
        print("|---|---|---|---|")
        for row in liveos["compressors"]:
            print("| %s | %s | %.1f | %.1f |" % (row["compression"], row["level"], row["seconds"], row["mib"]))
        print()
    fleet = load("fleet")
    if fleet:
        fleet_table(fleet)


def seconds(values):
    return ", ".join("%.2f" % v for v in values)


def remaster_table(remaster):
    print("| ISO-only re-customization, %.0f MiB ISO | ours (5 runs) | floor, run just before each (5 runs) |"
          " ratio of means | median ratio | ratio of bests | target |" % remaster["iso_mib"])
    print("|---|---|---|---|---|---|---|")
    for name, label in (("checksum", "new seed + argument, sha256 (default), vs `cp`"),
                        ("checksum_vs_cp_sync_sha256", "the same, vs `cp` + `sync` + `openssl dgst -sha256`"),
                        ("no_checksum", "`checksum: false`, vs `cp`"),
                        ("no_checksum_vs_cp_sync", "`checksum: false`, vs `cp` + `sync`")):
        row = remaster.get(name)
        if row is None:
            continue
        print("| %s | %s s | %s s | %.2f | %.2f | %.2f | < %.1f |" % (
            label, seconds(row["ours_seconds"]), seconds(row["cp_seconds"]), row["ratio_of_means"],
            row["median_ratio"], row["ratio_of_bests"], remaster["target_ratio"]))
    print()
    print("Steps, mean: " + ", ".join("%s %.3f s" % kv for kv in sorted(remaster["steps"].items())))
    print()


def fleet_table(fleet):
    cp = fleet["cp_seconds"]
    print("| %d-site fleet, %.0f MiB base ISO (BIOS + UEFI) | mean s/site | median | min | max |"
          " vs the paired cp (mean %.2f s): ratio of means, median ratio | target |"
          % (fleet["sites"], fleet["base_iso_mib"], cp["mean"]))
    print("|---|---|---|---|---|---|---|")
    row = fleet["copy_and_append"]
    print("| kernel copy + new session (ext4) | %.2f | %.2f | %.2f | %.2f | %.2f x, %.2f x | < 1.5 x |" % (
        row["mean"], row["median"], row["min"], row["max"], row["ratio_of_means"], row["median_ratio"]))
    row = fleet["no_change_rerun"]
    print("| no-change rerun | %.3f | %.3f | %.3f | %.3f | | < 1 s |" % (
        row["mean"], row["median"], row["min"], row["max"]))
    for key, label in (("reflink_xfs", "reflink copy + new session (xfs in a loop file)"),
                       ("reflink_xfs_no_checksum", "the same, `checksum: false`")):
        row = fleet.get(key)
        if row:
            print("| %s | %.2f | %.2f | %.2f | %.2f | | < 1 s |" % (
                label, row["mean"], row["median"], row["min"], row["max"]))
    print()
    big = fleet.get("reflink_xfs_big_base")
    if big:
        print("| reflink, 5 sites from a %.0f MiB base | mean s/site | median | max |" % big["base_iso_mib"])
        print("|---|---|---|---|")
        for key, label in (("checksum", "sha256 (default)"), ("no_checksum", "`checksum: false`")):
            print("| %s | %.2f | %.2f | %.2f |" % (label, big[key]["mean"], big[key]["median"], big[key]["max"]))
        print()
    for label, steps in sorted(fleet.get("steps", {}).items()):
        means = ["%s mean %.3f s" % (name, v["mean"]) for name, v in sorted(steps.items())]
        print("Steps (%s): %s" % (label, ", ".join(means)))
    print()


if __name__ == "__main__":
    main()
