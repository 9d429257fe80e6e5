# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a Live ISO carries besides its boot images (private to this collection): the media paths of the
squashfs, the saved config and the reference tool's layout, the Live ISO model read from an ISO file, and
the host files for grub.cfg, the saved config, the .disk markers and ``iso.additionalFiles``.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, List, Optional, Pattern, Protocol, Sequence, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import set_mtime
from ansible_collections.liveiso.customizer.plugins.module_utils._iso.xorriso import list_files, read_text
from ansible_collections.liveiso.customizer.plugins.module_utils._live import boot_loader
from ansible_collections.liveiso.customizer.plugins.module_utils._live.saved_config import SavedConfig

if TYPE_CHECKING:
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import FileSpec
    from ansible_collections.liveiso.customizer.plugins.module_utils._live.plan import LivePlan

SAVED_CONFIG: str = "/liveiso/config.json"
ROOTFS: str = "/liveos/rootfs.img"
MIC_GRUB_CFG: str = "/boot/grub2/grub.cfg"
LABEL_RE: Pattern[str] = re.compile(r"[A-Za-z0-9_-]{1,32}\Z")  # use .match: anchored at both ends


Graft = Tuple[str, str]  # (media path, host path): a file the ISO carries and where it is on the host


class WorkFiles(Protocol):
    """What :func:`media_metadata` and :func:`additional_file_grafts` need of a build (``_build.build.Build``):
    paths in its work directory."""

    def path(self, *parts: str) -> str:
        """The path of ``parts`` in the work directory."""


class IsoFlavour(StrEnum):
    """Whose Live ISO it is: what can be kept of it when it is re-customized."""

    LIVEISO = "liveiso"  #: ours: its saved config is read, the fast path can grow it
    REFERENCE = "mic"  #: the Image Customizer's layout: rebuilt, its grub.cfg's kernel arguments kept

    @property
    def has_saved_config(self) -> bool:
        return self is IsoFlavour.LIVEISO


class LiveIso(object):
    """What an existing Live ISO is: ours (with its saved config) or the reference tool's layout."""

    def __init__(self, path: str, flavour: IsoFlavour, saved: Optional[SavedConfig], files: List[str]) -> None:
        self.path: str = path
        self.flavour: IsoFlavour = flavour
        self.saved: Optional[SavedConfig] = saved  # None for the reference tool's layout
        self.files: List[str] = files


def open_live_iso(path: str, workdir: str) -> LiveIso:
    files = list_files(path)
    if not files:
        raise ImageError("%s is an ISO image but xorriso cannot read any file from it." % path,
                         "Check that the file is complete.")
    if SAVED_CONFIG in files:
        text = read_text(path, SAVED_CONFIG, workdir)
        try:
            data = json.loads(text or "")
        except ValueError:
            raise ImageError("%s carries an unreadable %s." % (path, SAVED_CONFIG),
                             "Rebuild it from its disk image.") from None
        return LiveIso(path, IsoFlavour.LIVEISO, SavedConfig.parse(data, path, SAVED_CONFIG), files)
    if ROOTFS in files:
        return LiveIso(path, IsoFlavour.REFERENCE, None, files)
    raise ImageError("%s is an ISO image but not a Live OS ISO: it has no %s." % (path, ROOTFS),
                     "Give a disk image, or a Live ISO made by liveiso.customizer or the Image Customizer.")


def _write(path: str, text: str, mtime: Optional[int] = None) -> str:
    with open(path, "w") as handle:
        handle.write(text)
    set_mtime(path, mtime)
    return path


def media_metadata(build: WorkFiles, plan: LivePlan, epoch: Optional[int]) -> List[Graft]:
    """Host files for grub.cfg, the saved config and the .disk markers: [(media path, host path)]."""
    meta = build.path("media-meta")
    os.makedirs(meta, exist_ok=True)
    return [
        ("/boot/grub/grub.cfg", _write(os.path.join(meta, "grub.cfg"), boot_loader.grub_cfg(plan.kernel_args()),
                                       epoch)),
        (SAVED_CONFIG, _write(os.path.join(meta, "config.json"),
                              json.dumps(plan.saved_config().to_json(), indent=2, sort_keys=True) + "\n", epoch)),
        ("/.disk/info", _write(os.path.join(meta, "info"), "%s Live OS\n" % plan.label, epoch)),
        (boot_loader.marker_path(plan.boot_id), _write(os.path.join(meta, "marker"), plan.boot_id + "\n", epoch)),
    ]


def additional_file_grafts(build: WorkFiles, specs: Sequence[FileSpec], epoch: Optional[int]) -> List[Graft]:
    """[(media path, host path)] for iso.additionalFiles; content entries are written to the build dir."""
    grafts: List[Graft] = []
    for index, spec in enumerate(specs):
        if spec.source:
            grafts.append((spec.destination, spec.source))
        else:
            path = build.path("media-content", "%d" % index)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            grafts.append((spec.destination, _write(path, spec.content or "", epoch)))  # a spec has one of the two
    return grafts


SEED_MEDIA_DIR: str = "/cloud-init-data"
UNREAD_SEED_NOTE: str = "cloud-init seed on the media is not read"  #: module_glue turns notes starting so into warnings
_SEED_LINKS: Tuple[str, ...] = ("var/lib/cloud/seed/nocloud", "var/lib/cloud/seed/nocloud-net")
_SEED_POINTER_DIRS: Tuple[str, ...] = ("etc/cloud", "etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system",
                                       "usr/local/bin", "usr/local/sbin", "usr/local/lib")


def _mentions_seed_dir(root: str) -> bool:
    """Does a cloud-init config, a systemd unit or a local script in ``root`` name the media's seed directory?"""
    needle = SEED_MEDIA_DIR.lstrip("/").encode()
    for top in _SEED_POINTER_DIRS:
        base = os.path.join(root, top)
        if os.path.islink(base) or not os.path.isdir(base):
            continue
        for folder, _dirs, names in os.walk(base):
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 1 << 20:
                    continue  # a link may be absolute (the host's file): only the image's own files count
                with open(path, "rb") as handle:
                    if needle in handle.read():
                        return True
    return False


def unread_seed_warning(root: str, media_paths: Sequence[str], kernel_args: Sequence[str]) -> Optional[str]:
    """A warning when the ISO carries ``/cloud-init-data/*`` but nothing in the image at ``root`` reads it: no
    /var/lib/cloud/seed/nocloud link to it, no ``ds=nocloud;s=...`` or ``seedfrom`` on the kernel command line
    naming it, no cloud-init config, unit or local script that names it (docs/cloud-init.md, Example 1)."""
    seeds = sorted(path for path in media_paths if path.startswith(SEED_MEDIA_DIR + "/"))
    if not seeds or any(SEED_MEDIA_DIR in arg for arg in kernel_args):
        return None
    for link in _SEED_LINKS:
        path = os.path.join(root, link)
        if os.path.islink(path) and SEED_MEDIA_DIR in os.readlink(path):
            return None
    if _mentions_seed_dir(root):
        return None
    return ("%s: the ISO gets %s, but nothing in the image links /var/lib/cloud/seed/nocloud to it or points "
            "cloud-init there, so cloud-init never reads it. Add the seed link script of docs/cloud-init.md "
            "(cloudinit_seed's placement=iso fragment has it) or ds=nocloud;s=file://<medium>%s/ on the kernel "
            "command line." % (UNREAD_SEED_NOTE, ", ".join(seeds[:4]) + (", ..." if len(seeds) > 4 else ""),
                               SEED_MEDIA_DIR))
