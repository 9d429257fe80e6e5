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
    if liveos:
        build = liveos["iso_build"]
        print("| disk image -> ISO | ours | floor (same dracut, mksquashfs, grub-mkimage, mtools, xorriso)"
              " | ratio | target |")
        print("|---|---|---|---|---|")
        print("| raw base image, zstd default | %.1f s | %.1f s | %.3f | < %.2f |" % (
            build["ours_seconds"], build["floor_seconds"], build["ratio"], build["target_ratio"]))
        print()
        print("Steps: " + ", ".join("%s %.1f s" % kv for kv in build["ours_steps"].items()))
        print()
        remaster = liveos["remaster"]
        cps, ours = remaster["cp_seconds"], remaster["ours_seconds"]
        print("| ISO-only re-customization, %.0f MiB ISO | ours (5 runs) | cp of the ISO (5 runs) | ratio of means |"
              " ratio of bests | target |" % build["iso_mib"])
        print("|---|---|---|---|---|---|")
        print("| new seed + argument, sync before each run | %s s | %s s | %.2f | %.2f | < %.1f |" % (
            ", ".join("%.2f" % v for v in ours), ", ".join("%.2f" % v for v in cps), remaster["ratio"],
            remaster["ratio_best"], remaster["target_ratio"]))
        print()
        if liveos.get("compressors"):
            print("| compressor | level | mksquashfs seconds | squashfs MiB |")
            print("|---|---|---|---|")
            for row in liveos["compressors"]:
                print("| %s | %s | %.1f | %.1f |" % (row["compression"], row["level"], row["seconds"], row["mib"]))
            print()
    fleet = load("fleet")
    if fleet:
        cp = fleet["cp_seconds"]
        print("| %d-site fleet, %.0f MiB base ISO (BIOS + UEFI) | mean s/site | min | max | vs cp (mean %.2f s) |"
              " target |" % (fleet["sites"], fleet["base_iso_mib"], cp["mean"]))
        print("|---|---|---|---|---|---|")
        row = fleet["copy_and_append"]
        print("| kernel copy + in-place append (ext4) | %.2f | %.2f | %.2f | %.2f x | < 1.5 x |" % (
            row["mean"], row["min"], row["max"], row["ratio_to_cp"]))
        row = fleet["no_change_rerun"]
        print("| no-change rerun | %.3f | %.3f | %.3f | | < 1 s |" % (row["mean"], row["min"], row["max"]))
        row = fleet["reflink_xfs"]
        print("| reflink copy + in-place append (xfs) | %.2f | %.2f | %.2f | | < 1 s |" % (
            row["mean"], row["min"], row["max"]))
        print()
        for label, steps in sorted(fleet.get("steps", {}).items()):
            means = ["%s mean %.3f s" % (name, v["mean"]) for name, v in sorted(steps.items())]
            print("Steps (%s): %s" % (label, ", ".join(means)))
        print()


if __name__ == "__main__":
    main()
