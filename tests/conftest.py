# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up: the collection on sys.path, and clear skips for tests that need root."""

import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "liveiso", "customizer")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(REPO, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS)


# The markers of pytest.ini, registered here too: `ansible-test units` runs pytest with its own ini file
# (and --strict-markers), so pytest.ini's markers are not read there.
MARKERS = {
    "root": "needs root (loop devices, mounts, chroot); skipped with a reason for non-root developers",
    "qemu": "boots an image under qemu-system-x86_64 (TCG); needs root and qemu",
}


def pytest_configure(config):
    known = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, text in MARKERS.items():
        if name not in known:
            config.addinivalue_line("markers", "%s: %s" % (name, text))


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (loop devices, mounts, chroot): run `sudo make test`")
    for item in items:
        if "root" in item.keywords or "qemu" in item.keywords:
            item.add_marker(skip)
