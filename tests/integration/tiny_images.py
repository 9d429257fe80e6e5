# SPDX-License-Identifier: GPL-3.0-or-later
"""Tiny hand-made inputs for the hardening tests: disk images of a few MiB built in well under a second.

A "tiny Linux root" is an ext4 filesystem holding little more than /etc/os-release: enough for the library to
find, mount and write into it, nothing it could run (it has no shell). The disk layout matches what
conftest.inspect_image() reads: GPT, an EFI System partition (FAT, empty), then the Linux root.
"""

import os
import re
import shutil
import tempfile

from conftest import leaks, sh

OS_RELEASE = 'ID=tiny\nNAME="Tiny test root"\n'
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
SECTOR = 512
ESP_START, ESP_SECTORS = 2048, 4096   # 1 MiB .. 3 MiB
ROOT_START = ESP_START + ESP_SECTORS  # 3 MiB .. end
DISK_MIB, ROOT_MIB = 24, 20


def write_tree(root, files=(), dirs=(), links=()):
    """Populate ``root``: files {image path: text}, dirs [image path], links {image path: target}."""
    for path in dirs:
        os.makedirs(os.path.join(root, path.lstrip("/")), exist_ok=True)
    for path, text in dict(files).items():
        host = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        with open(host, "w") as handle:
            handle.write(text)
    for path, target in dict(links).items():
        host = os.path.join(root, path.lstrip("/"))
        os.makedirs(os.path.dirname(host), exist_ok=True)
        os.symlink(target, host)
    return root


def tiny_root_tree(root, **kwargs):
    """A directory that mkfs.ext4 -d turns into a minimal Linux root (/etc/os-release, empty /boot)."""
    files = dict({"/etc/os-release": OS_RELEASE}, **kwargs.pop("files", {}))
    dirs = ["/boot"] + list(kwargs.pop("dirs", []))
    return write_tree(root, files=files, dirs=dirs, **kwargs)


def make_disk(path, tree=None, fstype="ext4", table=True):
    """A raw GPT disk at ``path``: an empty ESP and a root partition of ``fstype`` filled from ``tree``.

    ``fstype=None`` leaves the root partition unformatted; ``table=False`` writes the filesystem over the
    whole file with no partition table at all.
    """
    with tempfile.TemporaryDirectory(prefix="tiny-", dir=os.path.dirname(path)) as tmp:
        root = os.path.join(tmp, "root.img")
        sh("truncate", "-s", "%dM" % (ROOT_MIB if table else DISK_MIB), root)
        if fstype == "ext4":
            sh("mkfs.ext4", "-q", "-F", *(["-d", tree] if tree else []), root)
        elif fstype == "vfat":
            sh("mkfs.vfat", root)
        if not table:
            shutil.move(root, path)
            return path
        esp = os.path.join(tmp, "esp.img")
        sh("mkfs.vfat", "-C", esp, str(ESP_SECTORS * SECTOR // 1024))
        sh("truncate", "-s", "%dM" % DISK_MIB, path)
        layout = "label: gpt\nstart=%d, size=%d, type=%s\nstart=%d, type=%s\n" % (
            ESP_START, ESP_SECTORS, ESP_TYPE, ROOT_START, LINUX_TYPE)
        sh("sfdisk", "-q", "--no-reread", "--no-tell-kernel", path, input=layout.encode())
        for source, start in ((esp, ESP_START), (root, ROOT_START)):
            sh("dd", "if=" + source, "of=" + path, "bs=%d" % SECTOR, "seek=%d" % start, "conv=notrunc,sparse",
               "status=none")
    return path


def make_squashfs_root(path, tree):
    sh("mksquashfs", tree, path, "-quiet", "-noappend", "-all-root", "-comp", "gzip")
    return path


def make_iso(path, tree, label="TINY"):
    """An ISO 9660 + Rock Ridge image of ``tree`` (symlinks kept as symlinks)."""
    sh("xorriso", "-as", "mkisofs", "-R", "-V", label, "-o", path, tree)
    return path


def snapshot(directory):
    """{relative path: (kind, content or link target)} of everything below ``directory``, not following links."""
    found = {}
    for base, dirs, files in os.walk(directory):
        for name in dirs + files:
            full = os.path.join(base, name)
            rel = os.path.relpath(full, directory)
            if os.path.islink(full):
                found[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                found[rel] = ("dir", None)
            else:
                with open(full, "rb") as handle:
                    found[rel] = ("file", handle.read())
    return found


_PYTEST_BASE = re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/")


def own_leaks(basetemp):
    """conftest.leaks() without the resources of *other* pytest sessions running at the same time.

    Another engineer's integration run may hold loop devices and mounts under its own basetemp
    (/tmp/pytest-of-root/pytest-<n>/); those are not ours to judge. Everything else, including anything under
    this session's ``basetemp``, /var/tmp, /work or the image cache, still counts.
    """
    mine = str(basetemp).rstrip("/") + "/"

    def foreign(text):
        return any(match.group(0) != mine for match in _PYTEST_BASE.finditer(text + "/"))

    loops, mounts = leaks()
    loops = "\n".join(line for line in loops.splitlines() if not foreign(line))
    return loops, [line for line in mounts if not foreign(line)]
