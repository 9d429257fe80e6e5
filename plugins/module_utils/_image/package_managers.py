# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The image's own package manager, run inside its chroot (private to this collection).

Each class builds argv lists; :func:`detect` picks the one the image has.
apt is exercised by the integration tests; dnf, tdnf and zypper are built by
the same code path and unit-tested for their argv only.
"""

from __future__ import annotations

from typing import ClassVar, Dict, List, Optional, Sequence, Type

from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot


class PackageManagerKind(StrEnum):
    """A package manager this library drives, in detection order (tdnf images may carry a dnf too)."""

    APT = "apt"
    TDNF = "tdnf"
    DNF = "dnf"
    ZYPPER = "zypper"

    @property
    def manager_class(self) -> Type[PackageManager]:
        return _CLASSES[self]

    @property
    def binary(self) -> str:
        """The command whose presence in the image means this package manager."""
        return self.manager_class.binary

    def manager(self) -> PackageManager:
        """A :class:`PackageManager` of this kind."""
        return self.manager_class()


class PackageManager(object):
    """Builds the argv lists of one package manager (run in the image's chroot with :attr:`env`)."""

    kind: ClassVar[PackageManagerKind]
    binary: ClassVar[str]
    base: ClassVar[List[str]]
    env: ClassVar[Dict[str, str]] = {}

    @property
    def name(self) -> PackageManagerKind:
        return self.kind

    def refresh(self) -> Optional[List[str]]:
        """argv that refreshes repository metadata, or None if the install commands do it themselves."""
        return None

    def remove(self, packages: Sequence[str]) -> List[str]:
        raise NotImplementedError

    def upgrade_all(self) -> List[str]:
        raise NotImplementedError

    def install(self, packages: Sequence[str]) -> List[str]:
        raise NotImplementedError

    def update(self, packages: Sequence[str]) -> List[str]:
        raise NotImplementedError

    def clean(self) -> Optional[List[str]]:
        """argv that drops downloaded packages and metadata, or None."""
        return None


class Apt(PackageManager):
    kind = PackageManagerKind.APT
    binary = "apt-get"
    env = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
    base = ["apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
            "-o", "Dpkg::Use-Pty=0", "-o", "APT::Install-Recommends=false"]

    def refresh(self) -> Optional[List[str]]:
        return ["apt-get", "-q", "update"]

    def remove(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["purge", "--auto-remove"] + list(packages)

    def upgrade_all(self) -> List[str]:
        return self.base + ["dist-upgrade"]

    def install(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["install"] + list(packages)

    def update(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["install", "--only-upgrade"] + list(packages)

    def clean(self) -> Optional[List[str]]:
        return ["apt-get", "clean"]


class Dnf(PackageManager):
    kind = PackageManagerKind.DNF
    binary = "dnf"
    base = ["dnf", "-y", "--setopt=install_weak_deps=False"]

    def remove(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["remove"] + list(packages)

    def upgrade_all(self) -> List[str]:
        return self.base + ["upgrade", "--refresh"]

    def install(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["install"] + list(packages)

    def update(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["upgrade"] + list(packages)

    def clean(self) -> Optional[List[str]]:
        return ["dnf", "clean", "all"]


class Tdnf(Dnf):
    kind = PackageManagerKind.TDNF
    binary = "tdnf"
    base = ["tdnf", "-y"]

    def upgrade_all(self) -> List[str]:
        return self.base + ["upgrade", "--refresh"]

    def clean(self) -> Optional[List[str]]:
        return ["tdnf", "clean", "all"]


class Zypper(PackageManager):
    kind = PackageManagerKind.ZYPPER
    binary = "zypper"
    base = ["zypper", "--non-interactive"]

    def refresh(self) -> Optional[List[str]]:
        return self.base + ["refresh"]

    def remove(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["remove", "--clean-deps"] + list(packages)

    def upgrade_all(self) -> List[str]:
        return self.base + ["update"]

    def install(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["install", "--no-recommends"] + list(packages)

    def update(self, packages: Sequence[str]) -> List[str]:
        return self.base + ["update"] + list(packages)

    def clean(self) -> Optional[List[str]]:
        return self.base + ["clean", "--all"]


_CLASSES: Dict[PackageManagerKind, Type[PackageManager]] = {
    cls.kind: cls for cls in (Apt, Dnf, Tdnf, Zypper)}


def detect(chroot: Chroot) -> PackageManager:
    """The package manager of the image in ``chroot``; raise ImageError if it has none we know."""
    for kind in PackageManagerKind:
        if chroot.which(kind.binary):
            return kind.manager()
    raise ImageError("the image has no supported package manager (looked for %s)."
                     % ", ".join(kind.binary for kind in PackageManagerKind),
                     "Remove os.packages from the config or use an image with apt, dnf, tdnf or zypper.")
