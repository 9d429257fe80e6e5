# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate a NoCloud seed with the cloud-init of the image that will read it (private to this collection).

The image (a disk image, or a Live ISO's squashfs root) is mounted read-only under an overlay, the seed files
are copied into the chroot's tmpfs /run, and the image's own ``cloud-init schema`` checks them. Nothing in
the image changes.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Iterator, List, Mapping, Optional, Tuple, TypedDict

from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import require_root
from ansible_collections.liveiso.customizer.plugins.module_utils._build.workdir import work_directory
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import (
    LiveMedium,
    SeedError,
    SeedFile,
    UserDataFormat,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.runner import Result
from ansible_collections.liveiso.customizer.plugins.module_utils._core.signals import signals_raise
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot, chroot_environment
from ansible_collections.liveiso.customizer.plugins.module_utils._image.formats import inspect_image, make_raw_work_copy
from ansible_collections.liveiso.customizer.plugins.module_utils._image.rootfs import mounted_image, mounted_squashfs
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso
from ansible_collections.liveiso.customizer.plugins.module_utils._live import media
from ansible_collections.liveiso.customizer.plugins.module_utils._live.initrd import DRACUT_MODULE_DIRS

WORK: str = "/run/liveiso-seed"
LINE_RE: re.Pattern[str] = re.compile(r"(?:line |:)(\d+)")


class ImageFacts(TypedDict):
    """What :func:`validate_in_image` found out about the image."""

    notes: List[str]
    live_medium: str  #: where its initramfs mounts the live medium (a :class:`LiveMedium` value)
    cloud_init_version: str


class NetworkRenderer(StrEnum):
    """What cloud-init renders network config to (``net-convert --output-kind``)."""

    NETPLAN = "netplan"
    ENI = "eni"  #: ifupdown's /etc/network/interfaces
    NETWORKD = "networkd"
    SYSCONFIG = "sysconfig"  #: Red Hat's network-scripts

    @classmethod
    def of(cls, chroot: Chroot) -> NetworkRenderer:
        """The renderer cloud-init picks in this image: by the network tools it has."""
        if chroot.which("netplan"):
            return cls.NETPLAN
        if chroot.which("ifup"):
            return cls.ENI
        if chroot.exists("/lib/systemd/systemd-networkd") or chroot.exists("/usr/lib/systemd/systemd-networkd"):
            return cls.NETWORKD
        return cls.SYSCONFIG


@contextlib.contextmanager
def image_root(image: str, workdir: str) -> Iterator[str]:
    """The root filesystem of a disk image or Live ISO, read-only under an overlay."""
    info = inspect_image(image)
    if info.format == "iso":
        squash = xorriso.extract(image, media.ROOTFS, os.path.join(workdir, "rootfs.img"))
        with mounted_squashfs(squash, os.path.join(workdir, "mnt")) as root:
            yield root
        return
    raw = image
    if info.format != "raw":
        raw = make_raw_work_copy(info, os.path.join(workdir, "image.raw"))
    with mounted_image(raw, os.path.join(workdir, "mnt"), mode="overlay", skip_fstypes=("vfat",)) as mounted:
        yield mounted.root


def live_medium(chroot: Chroot) -> LiveMedium:
    """Where the image's initramfs mounts the live medium: dracut or Debian's live-boot."""
    for base in DRACUT_MODULE_DIRS:
        if os.path.isdir(chroot.path(base + "/90dmsquash-live")):
            return LiveMedium.DRACUT
    if os.path.isdir(chroot.path("/usr/lib/live/boot")) or os.path.isfile(chroot.path("/bin/live-boot")):
        return LiveMedium.LIVE_BOOT
    return LiveMedium.DRACUT


def _schema(chroot: Chroot, name: str, schema_type: Optional[str] = None) -> Result:
    argv = ["cloud-init", "schema", "--config-file", WORK + "/" + name]
    if schema_type:
        argv += ["--schema-type", schema_type]
    result: Result = chroot.run(argv, check=False, merge_output=True)
    return result


def os_id(chroot: Chroot) -> str:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.isfile(chroot.path(path)):
            with open(chroot.path(path)) as handle:
                for line in handle:
                    if line.startswith("ID="):
                        return line.split("=", 1)[1].strip().strip('"')
    return "debian"


def check_network_rendering(chroot: Chroot, facts: ImageFacts) -> None:
    """Let the image's cloud-init parse and render network-config as it will at boot (net-convert)."""
    kind = NetworkRenderer.of(chroot)
    out = WORK + "/rendered"
    os.makedirs(chroot.path(out), exist_ok=True)
    result = chroot.run(["cloud-init", "devel", "net-convert", "--network-data", WORK + "/network-config",
                         "--kind", "yaml", "--output-kind", kind.value, "--distro", os_id(chroot), "--directory",
                         out],
                        check=False, merge_output=True)
    if result.returncode != 0:
        lines = [row.strip() for row in result.stdout.splitlines() if row.strip()]
        errors = [row for row in lines if "Error" in row or "ERROR" in row or "not a valid" in row] or lines[-2:]
        raise SeedError("network-config", "cloud-init %s cannot render it for %s: %s"
                        % (facts["cloud_init_version"], kind, " | ".join(errors)[-600:]))
    facts["notes"].append("network-config renders for %s with cloud-init %s" % (kind, facts["cloud_init_version"]))


def validate_in_image(image: str, files: Mapping[str, str]) -> ImageFacts:
    """Run the image's ``cloud-init schema`` on user-data (and network-config where it can); return facts."""
    require_root()
    user_data, vendor_data, network_config = (SeedFile.USER_DATA.value, SeedFile.VENDOR_DATA.value,
                                              SeedFile.NETWORK_CONFIG.value)
    cloud_config = UserDataFormat.CLOUD_CONFIG.value
    notes: List[str] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(signals_raise())
        workdir, released = stack.enter_context(work_directory(os.environ.get("TMPDIR", "/var/tmp")))
        notes += released
        chroot: Chroot = stack.enter_context(chroot_environment(stack.enter_context(image_root(image, workdir))))
        if not chroot.which("cloud-init"):
            raise ImageError("%s has no cloud-init to validate the seed with." % image,
                             "Install cloud-init in the image, or drop validate_with_image.")
        medium = live_medium(chroot)
        version = chroot.run(["cloud-init", "--version"], check=False, merge_output=True).stdout.strip()
        facts = ImageFacts(notes=notes, live_medium=medium.value,
                           cloud_init_version=version.split()[-1] if version else "unknown")
        os.makedirs(chroot.path(WORK), mode=0o700, exist_ok=True)
        for name, text in files.items():
            with open(chroot.path(WORK + "/" + name), "w") as handle:
                handle.write(text)
        checks: List[Tuple[str, Optional[str]]] = [(user_data, None)]
        if vendor_data in files and files[vendor_data].startswith(cloud_config):
            checks.append((vendor_data, None))
        if network_config in files:
            checks.append((network_config, "network-config"))
        for name, schema_type in checks:
            if name == user_data and not files[name].startswith(cloud_config):
                continue  # scripts and MIME parts have no schema
            result = _schema(chroot, name, schema_type)
            output = result.stdout.strip()
            if result.returncode != 0 and schema_type and ("unrecognized arguments" in output
                                                           or "invalid choice" in output):
                facts["notes"].append("network-config checked offline only: cloud-init %s has no "
                                      "network-config schema" % facts["cloud_init_version"])
                continue
            if result.returncode != 0:
                lines = [row for row in output.splitlines() if "Invalid" in row or "Error" in row] \
                    or output.splitlines()[-3:]
                match = LINE_RE.search(" ".join(lines))
                raise SeedError(name, "cloud-init %s schema check failed: %s"
                                % (facts["cloud_init_version"], " | ".join(lines)[:800]),
                                line=int(match.group(1)) if match else None)
            facts["notes"].append("%s valid for cloud-init %s" % (name, facts["cloud_init_version"]))
        if network_config in files:
            check_network_rendering(chroot, facts)
    return facts
