# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for the benchmarks: the library on sys.path, the cached base image, timing, results."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "build", "collections"))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
sys.path.insert(0, os.path.join(REPO, "tests"))

# base_image is re-exported to the benchmarks.
import base_image  # noqa: E402  pylint: disable=unused-import

RESULTS = os.path.join(HERE, "results")


def sh(*argv, **kwargs):
    """Run a command (the floor: raw tools, no library); return stdout."""
    return subprocess.run([str(a) for a in argv], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **kwargs).stdout.decode()


def timed(func, *args, **kwargs):
    start = time.monotonic()
    value = func(*args, **kwargs)
    return time.monotonic() - start, value


def settle(seconds=0, warm=None):
    """`sync`, wait ``seconds`` for the disk to go idle (ext4 commits its journal every 5 s), then read ``warm``
    once: this VM's host reclaims page cache that has not been touched for a while (DAMON ``pageout``), and a
    side that found its input paged out would measure the disk, not itself."""
    sh("sync")
    time.sleep(seconds)
    if warm:
        subprocess.run(["cat", warm], check=True, stdout=subprocess.DEVNULL)


def cp_seconds(source, directory, then_sync=False, then_sha256=False, settle_seconds=0):
    """Seconds of `cp` of ``source`` into ``directory`` (after :func:`settle`); with ``then_sync`` also `sync`
    (the copy on disk, as a build leaves its output), with ``then_sha256`` also `openssl dgst -sha256` of the
    copy (openssl is the fastest SHA-256 here, 3.5 times coreutils' sha256sum). The copy is removed."""
    settle(settle_seconds, warm=source if settle_seconds else None)
    copy = os.path.join(directory, "cp-" + os.path.basename(source))
    start = time.monotonic()
    sh("cp", source, copy)
    if then_sync:
        sh("sync")
    if then_sha256:
        sh("openssl", "dgst", "-sha256", copy)
    seconds = time.monotonic() - start
    os.unlink(copy)
    return seconds


def paired(ours, cps):
    """Ours against the `cp` run just before each of our runs: ratio of the sums (means), the median of the
    per-run ratios, and the ratio of the bests."""
    ratios = sorted(a / b for a, b in zip(ours, cps))
    return {"ratio_of_means": round(sum(ours) / sum(cps), 2), "median_ratio": round(ratios[len(ratios) // 2], 2),
            "ratio_of_bests": round(min(ours) / min(cps), 2)}


def drop_caches():
    """Start each measurement from a cold page cache, so neither side profits from the other's reads."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as handle:
        handle.write("3\n")


def save(name, data):
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    print(json.dumps(data, indent=2, sort_keys=True))
    return path
