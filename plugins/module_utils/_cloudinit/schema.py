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
import json
import os
import re
from typing import Collection, Dict, Iterator, List, Mapping, Optional, Sequence, TypedDict

from ansible_collections.liveiso.customizer.plugins.module_utils._build.host import require_root
from ansible_collections.liveiso.customizer.plugins.module_utils._build.workdir import work_directory
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.common import SeedError, load_yaml
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.network import (
    NetworkV2Key,
    check_network,
    is_disabled,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.seed import LiveMedium, SeedFile
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.userdata import (
    UserDataFormat,
    cloud_config_texts,
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


OSFAMILIES_22_4: Mapping[str, Sequence[str]] = {
    "alpine": ["alpine"], "arch": ["arch"], "debian": ["debian", "ubuntu"], "freebsd": ["freebsd", "dragonfly"],
    "gentoo": ["gentoo", "cos"], "netbsd": ["netbsd"], "openbsd": ["openbsd"],
    "redhat": ["almalinux", "amazon", "centos", "cloudlinux", "eurolinux", "fedora", "mariner", "miraclelinux",
               "openEuler", "openmandriva", "photon", "rhel", "rocky", "virtuozzo"],
    "suse": ["opensuse", "sles"],
}
"""cloud-init 22.4's ``distros.OSFAMILIES``: the ``net-convert --distro`` choices when the image cannot list its own."""
DISTRO_ALIASES: Mapping[str, str] = {
    "amzn": "amazon", "ol": "rhel", "opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse",
    "opensuse-microos": "opensuse", "sle_hpc": "sles", "sles_sap": "sles", "sle-micro": "sles",
    "azurelinux": "mariner", "openeuler": "openEuler",
}
"""os-release IDs cloud-init names otherwise."""
RENDERER_DISTROS: Mapping[NetworkRenderer, Sequence[str]] = {
    NetworkRenderer.NETPLAN: ("ubuntu", "debian"), NetworkRenderer.ENI: ("debian", "ubuntu"),
    NetworkRenderer.NETWORKD: ("arch", "debian"), NetworkRenderer.SYSCONFIG: ("rhel", "fedora", "centos"),
}
"""The last resort for an os-release nobody knows: a distro that renders with the image's renderer."""


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


def read_os_release(chroot: Chroot) -> Dict[str, str]:
    """The image's os-release as {key: value} (quotes removed); empty when it has none."""
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.isfile(chroot.path(path)):
            with open(chroot.path(path)) as handle:
                return parse_os_release(handle.read())
    return {}


def parse_os_release(text: str) -> Dict[str, str]:
    fields: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            fields[key] = value.strip().strip("\"'")
    return fields


def os_id(chroot: Chroot) -> str:
    """The image's os-release ID (``debian`` when it has none)."""
    return read_os_release(chroot).get("ID") or "debian"


def known_distros(chroot: Chroot) -> Mapping[str, Sequence[str]]:
    """The image's cloud-init's ``distros.OSFAMILIES`` ({family: [distro, ...]}): what ``net-convert --distro``
    takes. cloud-init 22.4's table when the image's Python cannot say."""
    result = chroot.run(["python3", "-c", "import json; from cloudinit import distros; "
                                          "print(json.dumps(distros.OSFAMILIES))"], check=False, merge_output=True)
    try:
        families = json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None
    except (ValueError, IndexError):
        families = None
    if isinstance(families, dict) and all(isinstance(names, list) for names in families.values()):
        return families
    return OSFAMILIES_22_4


def net_convert_distro(os_release: Mapping[str, str], families: Mapping[str, Sequence[str]],
                       renderer: NetworkRenderer) -> str:
    """The ``--distro`` for ``net-convert``: the os-release ID if cloud-init knows it, else (alias first) the
    first ID_LIKE entry it knows, else the first distro of a family named there, else one of the renderer's."""
    known = [name for names in families.values() for name in names]
    candidates = [os_release.get("ID", "")] + os_release.get("ID_LIKE", "").split()
    for candidate in candidates:
        for name in (DISTRO_ALIASES.get(candidate), candidate):
            if name and name in known:
                return name
    for candidate in candidates:
        if families.get(candidate):
            return families[candidate][0]
    for name in RENDERER_DISTROS[renderer]:
        if name in known:
            return name
    return known[0] if known else "debian"


def check_network_rendering(chroot: Chroot, facts: ImageFacts, sections: Collection[NetworkV2Key]) -> None:
    """Let the image's cloud-init parse and render network-config as it will at boot (net-convert)."""
    kind = NetworkRenderer.of(chroot)
    netplan_only = sorted(section.value for section in sections if section.netplan_only)
    if netplan_only and kind is not NetworkRenderer.NETPLAN:
        raise SeedError("network-config", "%s: only the netplan renderer takes %s, and this image renders network "
                        "config for %s" % (", ".join(netplan_only), "them" if len(netplan_only) > 1 else "it", kind),
                        hint="Install netplan.io in the image, or express it with ethernets, bonds, bridges, vlans.")
    distro = net_convert_distro(read_os_release(chroot), known_distros(chroot), kind)
    out = WORK + "/rendered"
    os.makedirs(chroot.path(out), exist_ok=True)
    result = chroot.run(["cloud-init", "devel", "net-convert", "--network-data", WORK + "/network-config",
                         "--kind", "yaml", "--output-kind", kind.value, "--distro", distro, "--directory", out],
                        check=False, merge_output=True)
    if result.returncode != 0:
        lines = [row.strip() for row in result.stdout.splitlines() if row.strip()]
        errors = [row for row in lines if "Error" in row or "ERROR" in row or "not a valid" in row] or lines[-2:]
        raise SeedError("network-config", "cloud-init %s cannot render it for %s: %s"
                        % (facts["cloud_init_version"], kind, " | ".join(errors)[-600:]))
    facts["notes"].append("network-config renders for %s (distro %s) with cloud-init %s"
                          % (kind, distro, facts["cloud_init_version"]))


def _schema_failure(name: str, output: str, facts: ImageFacts, label: str = "") -> SeedError:
    rows = [row.strip() for row in output.splitlines() if row.strip()]
    first = next((index for index, row in enumerate(rows) if "Invalid" in row or "Error" in row), None)
    lines = rows[first:first + 6] if first is not None else rows[-3:]  # "Error:" alone says nothing: what follows
    match = LINE_RE.search(" ".join(lines))
    return SeedError(name, "%scloud-init %s schema check failed: %s"
                     % (label + ": " if label and label != name else "", facts["cloud_init_version"],
                        " | ".join(lines)[:800]),
                     line=int(match.group(1)) if match and not label else None)


def check_user_data_schema(chroot: Chroot, name: str, text: str, facts: ImageFacts) -> None:
    """The image's ``cloud-init schema`` on every cloud-config in user-data (or vendor-data): the file itself,
    or its MIME / archive parts; a jinja template only when nothing in it is left to render."""
    texts = cloud_config_texts(text, name)
    for index, (label, body) in enumerate(texts):
        part = "%s.part%d" % (name, index)
        with open(chroot.path(WORK + "/" + part), "w") as handle:
            handle.write(body)
        result = _schema(chroot, part)
        if result.returncode != 0:
            raise _schema_failure(name, result.stdout.strip(), facts, label if len(texts) > 1 or label != name
                                  else "")
        facts["notes"].append("%s valid for cloud-init %s" % (label if label != name else name,
                                                              facts["cloud_init_version"]))
    if not texts and UserDataFormat.of(text) is UserDataFormat.JINJA_TEMPLATE:
        facts["notes"].append("%s is a jinja template: cloud-init renders it at boot, its schema is checked offline "
                              "only" % name)


def check_network_schema(chroot: Chroot, facts: ImageFacts) -> None:
    name = SeedFile.NETWORK_CONFIG.value
    result = _schema(chroot, name, "network-config")
    output = result.stdout.strip()
    if result.returncode != 0 and ("unrecognized arguments" in output or "invalid choice" in output):
        facts["notes"].append("network-config checked offline only: cloud-init %s has no network-config schema"
                              % facts["cloud_init_version"])
    elif result.returncode != 0:
        raise _schema_failure(name, output, facts)
    else:
        facts["notes"].append("%s valid for cloud-init %s" % (name, facts["cloud_init_version"]))


def validate_in_image(image: str, files: Mapping[str, str]) -> ImageFacts:
    """Run the image's ``cloud-init schema`` on user-data (and network-config where it can); return facts."""
    require_root()
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
        for name in (SeedFile.USER_DATA.value, SeedFile.VENDOR_DATA.value):
            if name in files:
                check_user_data_schema(chroot, name, files[name], facts)
        network_config = SeedFile.NETWORK_CONFIG.value
        if network_config in files:
            data = load_yaml(network_config, files[network_config])
            if is_disabled(data):
                facts["notes"].append("network-config disables cloud-init's network configuration: "
                                      "nothing to render")
            else:
                check_network_schema(chroot, facts)
                check_network_rendering(chroot, facts, check_network(data))
    return facts
