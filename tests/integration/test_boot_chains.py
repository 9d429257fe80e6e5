# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot chains of other distribution families: a Fedora-shaped image (tests/fixtures/fedora_shaped.py) as a Live ISO.

Its kernel line is a BLS entry's ``options $kernelopts`` with kernelopts in grubenv; its signed chain is only on
the ESP at EFI/fedora/. One build, inspected, then one boot under OVMF with Secure Boot enforced.
"""

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import HERE, leaks, sh
from test_liveos_iso import FAIL_ON, LEVEL, check_boot, iso_extract, iso_files, iso_text, run_module

import qemu_boot  # noqa: E402  (tests/, on sys.path through test_liveos_iso)

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fixtures"))
import fedora_shaped  # noqa: E402

pytestmark = pytest.mark.root

DATA = os.path.join(HERE, "data", "bootchains")
MARKER = fedora_shaped.RECIPE["marker_arg"]
BOOT_LOCK = os.environ.get("LIVEISO_BOOT_LOCK", "/tmp/liveiso-boot.lock")


@contextlib.contextmanager
def boot_slot():
    """One qemu boot at a time on a shared machine (the lock the developers' boot runs take), held for the
    boot only, not for the build before it."""
    with open(BOOT_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def fedora_image(base_dir):
    return fedora_shaped.ensure()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("bootchains"))


@pytest.fixture(scope="module")
def fedora_iso(fedora_image, work):
    result = run_module(work, "image_customize", image=fedora_image, output=os.path.join(work, "fedora.iso"),
                        output_format="iso", config_file=os.path.join(DATA, "config.yaml"),
                        compression_level=LEVEL, secure_boot="required")
    assert not result.get("failed"), result.get("msg")
    return result


def test_fedora_shaped_fixture(fedora_image, tmp_path):
    """The fixture is what it claims: no Debian package-path chain, the vendor chain on the ESP only."""
    listing = subprocess.run(["mdir", "-/", "-b", "-i", fedora_image + "@@1M", "::/EFI"], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    names = sorted(line.strip() for line in listing.stdout.splitlines())
    assert "::/EFI/fedora/shimx64.efi" in names and "::/EFI/fedora/grubx64.efi" in names
    assert not any("debian" in name for name in names)
    with open(os.path.join(os.path.dirname(fedora_image), "recipe.json")) as handle:
        assert json.load(handle)["marker_arg"] == MARKER


def test_fedora_iso_resolved_kernelopts_and_vendor_chain(fedora_iso, tmp_path):
    cmdline = fedora_iso["kernel_cmdline"]
    assert MARKER in cmdline.split()  # from grubenv, through the BLS entry's options $kernelopts
    assert "$" not in cmdline  # no literal $kernelopts (nor any other GRUB variable)
    assert "console=ttyS0,115200n8" in cmdline.split() and "root=UUID" not in cmdline and " ro " not in cmdline
    assert fedora_iso["secure_boot"] is True
    files = iso_files(fedora_iso["output"])
    for path in ("/EFI/BOOT/BOOTX64.EFI", "/EFI/BOOT/grubx64.efi", "/EFI/BOOT/mmx64.efi", "/EFI/BOOT/grub.cfg"):
        assert path in files
    # the signed GRUB's built-in prefix is /EFI/debian (Debian's binary in a Fedora place): our config is there
    assert "/EFI/debian/grub.cfg" in files
    efi = iso_extract(fedora_iso["output"], "/boot/grub/efiboot.img", str(tmp_path / "efiboot.img"))
    fat = sh("mdir", "-/", "-b", "-i", efi, "::/EFI", env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    assert "::/EFI/debian/grub.cfg" in fat and "::/EFI/BOOT/grubx64.efi" in fat
    stub = iso_text(fedora_iso["output"], "/EFI/debian/grub.cfg", tmp_path)
    assert re.search(r"search --no-floppy --file --set=root /\.disk/liveiso-[0-9a-f]{16}\n", stub)
    assert "configfile ($root)/boot/grub/grub.cfg" in stub
    assert leaks() == ("", [])


@pytest.mark.qemu
def test_boot_fedora_shaped_secure_boot_enforced(fedora_iso, work):
    """OVMF with Secure Boot enforced: the vendor-path shim and GRUB boot the kernel; /proc/cmdline holds the
    value of $kernelopts; the root is the image's (its marker file), without its /boot (the squashfs leaves it out)."""
    with boot_slot():
        text = qemu_boot.boot(fedora_iso["output"], os.path.join(work, "boot-fedora-secureboot.log"),
                              until="LIVEISO-REPORT-END", firmware="uefi-secure", media="cdrom", timeout=1200,
                              fail_on=FAIL_ON)
    facts = check_boot(fedora_iso, text, "fedora-shaped-host", "bootchains", "/var/lib/cloud/seed/nocloud")
    assert MARKER in facts["cmdline"].split() and "$kernelopts" not in facts["cmdline"]
    assert facts["secureboot"] == "1" or facts["sbvar"] == "1", facts["text"]
    assert facts["fedora"].startswith("fedora-shaped "), facts["text"]
    assert facts["bls"] == "", facts["text"]  # the live root has no /boot contents (squashfs.py): no BLS entries
