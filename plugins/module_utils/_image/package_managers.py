# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image's own package manager, run inside its chroot (private to this collection).

Each class builds argv lists; :func:`detect` picks the one the image has.
apt is exercised by the integration tests; dnf, tdnf and zypper are built by
the same code path and unit-tested for their argv only.
"""

from __future__ import annotations

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError


class PackageManager(object):
    name = None
    binary = None
    env = {}

    def refresh(self):
        """argv that refreshes repository metadata, or None if the install commands do it themselves."""
        return None

    def remove(self, packages):
        raise NotImplementedError

    def upgrade_all(self):
        raise NotImplementedError

    def install(self, packages):
        raise NotImplementedError

    def update(self, packages):
        raise NotImplementedError

    def clean(self):
        return None


class Apt(PackageManager):
    name = "apt"
    binary = "apt-get"
    env = {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
    base = ["apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
            "-o", "Dpkg::Use-Pty=0", "-o", "APT::Install-Recommends=false"]

    def refresh(self):
        return ["apt-get", "-q", "update"]

    def remove(self, packages):
        return self.base + ["purge", "--auto-remove"] + list(packages)

    def upgrade_all(self):
        return self.base + ["dist-upgrade"]

    def install(self, packages):
        return self.base + ["install"] + list(packages)

    def update(self, packages):
        return self.base + ["install", "--only-upgrade"] + list(packages)

    def clean(self):
        return ["apt-get", "clean"]


class Dnf(PackageManager):
    name = "dnf"
    binary = "dnf"
    base = ["dnf", "-y", "--setopt=install_weak_deps=False"]

    def remove(self, packages):
        return self.base + ["remove"] + list(packages)

    def upgrade_all(self):
        return self.base + ["upgrade", "--refresh"]

    def install(self, packages):
        return self.base + ["install"] + list(packages)

    def update(self, packages):
        return self.base + ["upgrade"] + list(packages)

    def clean(self):
        return ["dnf", "clean", "all"]


class Tdnf(Dnf):
    name = "tdnf"
    binary = "tdnf"
    base = ["tdnf", "-y"]

    def upgrade_all(self):
        return self.base + ["upgrade", "--refresh"]

    def clean(self):
        return ["tdnf", "clean", "all"]


class Zypper(PackageManager):
    name = "zypper"
    binary = "zypper"
    base = ["zypper", "--non-interactive"]

    def refresh(self):
        return self.base + ["refresh"]

    def remove(self, packages):
        return self.base + ["remove", "--clean-deps"] + list(packages)

    def upgrade_all(self):
        return self.base + ["update"]

    def install(self, packages):
        return self.base + ["install", "--no-recommends"] + list(packages)

    def update(self, packages):
        return self.base + ["update"] + list(packages)

    def clean(self):
        return self.base + ["clean", "--all"]


REGISTRY = (Apt, Tdnf, Dnf, Zypper)


def detect(chroot):
    """The package manager of the image in ``chroot``; raise ImageError if it has none we know."""
    for cls in REGISTRY:
        if chroot.which(cls.binary):
            return cls()
    raise ImageError("the image has no supported package manager (looked for %s)."
                     % ", ".join(cls.binary for cls in REGISTRY),
                     "Remove os.packages from the config or use an image with apt, dnf, tdnf or zypper.")
