# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for integration tests: the cached Debian base image, playbook runs, output inspection."""

import contextlib
import json
import os
import subprocess
import sys
import tempfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))

import base_image  # noqa: E402


@pytest.fixture(scope="session")
def base_dir():
    """Directory with base.raw, base.qcow2, base.vhdx, base.vhd (built once, cached by recipe)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    return base_image.ensure()


def run_playbook(workdir, tasks, check=False, extra_env=None):
    """Run ``tasks`` on localhost through ansible-playbook; return (rc, [registered results], stdout)."""
    results_file = os.path.join(workdir, "results-%d.json" % len(os.listdir(workdir)))
    plays = [{
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [dict(task, register="r%d" % i, ignore_errors=True) for i, task in enumerate(tasks)] + [{
            "name": "save results",
            "ansible.builtin.copy": {
                "dest": results_file,
                "content": "{{ [%s] | to_json }}" % ", ".join("r%d" % i for i in range(len(tasks))),
            },
            "check_mode": False,
        }],
    }]
    playbook = os.path.join(workdir, "play-%d.yml" % len(os.listdir(workdir)))
    with open(playbook, "w") as handle:
        yaml.safe_dump(plays, handle, sort_keys=False)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.update(extra_env or {})
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=" + sys.executable, playbook] + (["--check"] if check else [])
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=workdir, check=False)
    output = proc.stdout.decode("utf-8", "replace")
    if not os.path.exists(results_file):
        raise AssertionError("ansible-playbook produced no results (rc %s):\n%s" % (proc.returncode, output))
    with open(results_file) as handle:
        results = json.load(handle)
    return proc.returncode, results, output


def sh(*argv, **kwargs):
    return subprocess.run([str(a) for a in argv], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          **kwargs).stdout.decode()


def sha256(path):
    return sh("sha256sum", path).split()[0]


# Mounts and loop devices the tests themselves hold on purpose (the xfs_dir fixture), not leaks.
TEST_OWNED = []


def leaks():
    """Loop devices and mounts a build of ours left (both must be empty after every build).

    What the library can leak is recognisable: everything it mounts lies in a ``.liveiso-build-*`` work
    directory, and its loop devices are backed by files there or by the input images (the cached base
    image). Other mounts on the machine (a test's own xfs, a parallel test session) are not counted.
    """
    def ours(text):
        return "/.liveiso-build-" in text or "/var/cache/liveiso-customizer/" in text

    loops = "\n".join(line for line in sh("losetup", "-a").strip().splitlines()
                      if ours(line) and not any(prefix in line for prefix in TEST_OWNED))
    mounts = [line for line in sh("findmnt", "-rn", "-o", "TARGET").splitlines()
              if ours(line) and not any(line.startswith(prefix) for prefix in TEST_OWNED)]
    return loops, mounts


class ImageView(object):
    """Read-only view of a built image, made with plain losetup/mount/mtools (not the library)."""

    def __init__(self, root, raw, esp_offset):
        self.root = root
        self.raw = raw
        self.esp_offset = esp_offset

    def path(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def read(self, rel):
        with open(self.path(rel)) as handle:
            return handle.read()

    def exists(self, rel):
        return os.path.lexists(self.path(rel))

    def stat(self, rel):
        return os.lstat(self.path(rel))

    def esp_read(self, rel):
        return sh("mtype", "-i", "%s@@%d" % (self.raw, self.esp_offset), "::" + rel,
                  env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))

    def dpkg_installed(self, package):
        status = self.read("/var/lib/dpkg/status")
        for block in status.split("\n\n"):
            if ("Package: %s\n" % package) in block:
                return "Status: install ok installed" in block
        return False


@pytest.fixture(scope="module")
def xfs_dir(tmp_path_factory):
    """A directory on a fresh xfs filesystem with reflinks (a loop file), unmounted after the module."""
    tmp = str(tmp_path_factory.mktemp("xfs"))
    TEST_OWNED.append(tmp + "/")
    image, mnt = os.path.join(tmp, "xfs.img"), os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    sh("truncate", "-s", "4G", image)
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
        TEST_OWNED.remove(tmp + "/")


@contextlib.contextmanager
def inspect_image(path):
    """Mount the root filesystem of a built image read-only; yields an ImageView."""
    with tempfile.TemporaryDirectory(prefix="inspect-", dir="/var/tmp") as tmp:
        raw = os.path.join(tmp, "image.raw")
        sh("qemu-img", "convert", "-O", "raw", path, raw)
        table = json.loads(sh("sfdisk", "-J", raw))["partitiontable"]
        parts = table["partitions"]
        esp = [p for p in parts if p["type"].upper() == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"][0]
        root = [p for p in parts if p is not esp][0]
        loop = sh("losetup", "--find", "--show", "--read-only", "--offset", root["start"] * 512,
                  "--sizelimit", root["size"] * 512, raw).strip()
        mnt = os.path.join(tmp, "mnt")
        os.mkdir(mnt)
        try:
            sh("mount", "-o", "ro,noload", loop, mnt)
            try:
                yield ImageView(mnt, raw, esp["start"] * 512)
            finally:
                sh("umount", mnt)
        finally:
            sh("losetup", "-d", loop)
