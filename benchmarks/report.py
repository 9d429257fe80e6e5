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
        print("| ISO-only re-customization | ours (3 runs) | cp of the ISO (best of 3) | ratio | target |")
        print("|---|---|---|---|---|")
        print("| %.0f MiB ISO, new seed + argument | %s s | %.2f s | %.2f | < %.1f |" % (
            build["iso_mib"], ", ".join("%.2f" % s for s in remaster["ours_seconds"]), remaster["cp_seconds"],
            remaster["ratio"], remaster["target_ratio"]))
        print()
        if liveos.get("compressors"):
            print("| compressor | level | mksquashfs seconds | squashfs MiB |")
            print("|---|---|---|---|")
            for row in liveos["compressors"]:
                print("| %s | %s | %.1f | %.1f |" % (row["compression"], row["level"], row["seconds"], row["mib"]))
            print()
    fleet = load("fleet")
    if fleet:
        print("| %d-site fleet, %.0f MiB base ISO | mean s/site | max s/site | vs cp (%.2f s) | target |" % (
            fleet["sites"], fleet["base_iso_mib"], fleet["cp_seconds"]))
        print("|---|---|---|---|---|")
        print("| streamed remaster (ext4) | %.2f | %.2f | %.2f x | < 1.5 x |" % (
            fleet["streamed"]["mean"], fleet["streamed"]["max"], fleet["streamed"]["ratio_to_cp"]))
        print("| no-change rerun | %.3f | %.3f | | < 1 s |" % (
            fleet["no_change_rerun"]["mean"], fleet["no_change_rerun"]["max"]))
        print("| reflink copy + in-place append (xfs) | %.2f | %.2f | | < 1 s |" % (
            fleet["reflink_xfs"]["mean"], fleet["reflink_xfs"]["max"]))
        print()


if __name__ == "__main__":
    main()
