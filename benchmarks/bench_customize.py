# SPDX-License-Identifier: GPL-3.0-or-later
"""image_customize against the floor: the same package install run by hand in a chroot.

Ours: a playbook (ansible-playbook, as a user runs it) applying the integration tests' config with every
supported key (tests/integration/data/full/config.yaml) to the cached qcow2 base image, qcow2 out.
Floor: the same package operations by hand: convert the image, attach and mount its root, bind /dev /proc /sys
/run, copy the host's resolv.conf, `apt-get update`, purge less, install hello and tree, unmount.
Run as root: python3 benchmarks/bench_customize.py
"""

import json
import os
import shutil
import sys
import tempfile

from common import REPO, base_image, drop_caches, save, sh, timed

PACKAGES = ["hello", "tree"]
FULL_CONFIG = os.path.join(REPO, "tests", "integration", "data", "full", "config.yaml")


def floor(qcow2, work):
    raw = os.path.join(work, "floor.raw")
    mnt = os.path.join(work, "floor-mnt")
    os.mkdir(mnt)
    sh("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2, raw)
    part = [p for p in json.loads(sh("sfdisk", "-J", raw))["partitiontable"]["partitions"]
            if p["type"].upper() != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"][0]
    loop = sh("losetup", "--find", "--show", "--offset", part["start"] * 512, "--sizelimit", part["size"] * 512,
              raw).strip()
    binds = []
    try:
        sh("mount", loop, mnt)
        for name, args in (("dev", ["--bind", "/dev"]), ("proc", ["-t", "proc", "proc"]),
                           ("sys", ["-t", "sysfs", "sysfs"]), ("run", ["-t", "tmpfs", "tmpfs"])):
            sh("mount", *args, os.path.join(mnt, name))
            binds.append(os.path.join(mnt, name))
        shutil.copyfile("/etc/resolv.conf", os.path.join(mnt, "etc/resolv.conf"))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sh("chroot", mnt, "apt-get", "-q", "update", env=env)
        sh("chroot", mnt, "apt-get", "-y", "-q", "purge", "--auto-remove", "less", env=env)
        sh("chroot", mnt, "apt-get", "-y", "-q", "-o", "APT::Install-Recommends=false", "install", *PACKAGES, env=env)
        sh("chroot", mnt, "apt-get", "clean", env=env)
    finally:
        for path in reversed(binds):
            sh("umount", path)
        sh("umount", mnt)
        sh("losetup", "-d", loop)


def ours(qcow2, work):
    play = os.path.join(work, "play.yml")
    with open(play, "w") as handle:
        json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": [{
            "liveiso.customizer.image_customize": {"image": qcow2, "output": os.path.join(work, "ours.qcow2"),
                                                   "config_file": FULL_CONFIG}, "register": "r"}, {
            "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": os.path.join(work, "r.json")}}]}],
            handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "build", "collections"))
    sh(os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
       "-e", "ansible_python_interpreter=" + sys.executable, play, env=env)
    with open(os.path.join(work, "r.json")) as handle:
        return json.load(handle)


def main():
    qcow2 = base_image.image_path("qcow2")
    base_image.ensure()
    work = tempfile.mkdtemp(prefix="bench-customize-", dir="/var/tmp")
    try:
        drop_caches()
        floor_s = timed(floor, qcow2, work)[0]
        drop_caches()
        ours_s, result = timed(ours, qcow2, work)
        steps = {s["name"]: s["seconds"] for s in result["steps"]}
        save("customize", {
            "packages": PACKAGES,
            "floor_seconds": round(floor_s, 1),
            "ours_seconds": round(ours_s, 1),
            "ratio": round(ours_s / floor_s, 2),
            "ours_steps": steps,
            "target_ratio": 2.0,
        })
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
