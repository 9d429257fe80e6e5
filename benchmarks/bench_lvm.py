# SPDX-License-Identifier: GPL-3.0-or-later
"""LVM image customization against the same job on the plain-partition base image.

The LVM image (tests/fixtures/lvm_image.py: the base OS in root, var and home LVs, /boot on a partition) and
the base image (one ext4 root partition) get the same config (hostname, files under /etc, /var and /home),
raw in, raw out, through ansible-playbook, alternately, from a cold page cache, ROUNDS times each.
Reaching an LV by its offset should cost nothing: target within 1.1x (ratio of the medians).
Run as root: python3 benchmarks/bench_lvm.py
"""

import json
import os
import shutil
import sys
import tempfile

from common import REPO, base_image, drop_caches, save, sh, timed

# tests/fixtures is on sys.path through common
lvm_image = __import__("lvm_image")

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONFIG = {"os": {"hostname": "bench-lvm", "additionalFiles": [
    {"content": "etc\n", "destination": "/etc/bench-marker"},
    {"content": "var\n", "destination": "/var/lib/bench-marker"},
    {"content": "home\n", "destination": "/home/bench-marker"}]}}


def customize(image, work, name):
    play = os.path.join(work, name + ".yml")
    out = os.path.join(work, name + ".raw")
    with open(play, "w") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "liveiso.customizer.image_customize": {"image": image, "output": out, "config": CONFIG},
            "register": "r"}, {
            "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": os.path.join(work, name + ".json")}}]}],
            handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    sh(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
       "-e", "ansible_python_interpreter=" + sys.executable, play, env=env)
    with open(os.path.join(work, name + ".json")) as handle:
        result = json.load(handle)
    os.unlink(out)
    return result


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    plain = os.path.join(base_image.ensure(), "base.raw")
    lvm = os.path.join(lvm_image.ensure(), "lvm.raw")
    work = tempfile.mkdtemp(prefix="bench-lvm-", dir="/var/tmp")
    seconds = {"plain": [], "lvm": []}
    mounts = {"plain": [], "lvm": []}
    try:
        for round_ in range(ROUNDS):
            for name, image in (("plain", plain), ("lvm", lvm)):
                drop_caches()
                took, result = timed(customize, image, work, "%s-%d" % (name, round_))
                seconds[name].append(round(took, 1))
                mounts[name].append({s["name"]: s["seconds"] for s in result["steps"]}.get("mount-image"))
        save("lvm", {
            "rounds": ROUNDS,
            "plain_seconds": seconds["plain"],
            "lvm_seconds": seconds["lvm"],
            "plain_mount_image_seconds": mounts["plain"],
            "lvm_mount_image_seconds": mounts["lvm"],
            "image_bytes": {"plain": os.path.getsize(plain), "lvm": os.path.getsize(lvm)},
            "ratio_of_medians": round(median(seconds["lvm"]) / median(seconds["plain"]), 2),
            "target_ratio": 1.1,
        })
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
