# SPDX-License-Identifier: GPL-3.0-or-later
"""package_managers.py: exact argv per package manager and detection inside an image root."""

import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._image import package_managers as pm
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot

APT_BASE = ["apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
            "-o", "Dpkg::Use-Pty=0", "-o", "APT::Install-Recommends=false"]
PKGS = ("curl", "vim-tiny")


def test_apt_argv():
    apt = pm.Apt()
    assert (apt.name, apt.binary) == ("apt", "apt-get")
    assert apt.env == {"DEBIAN_FRONTEND": "noninteractive", "APT_LISTCHANGES_FRONTEND": "none"}
    assert apt.refresh() == ["apt-get", "-q", "update"]
    assert apt.remove(PKGS) == APT_BASE + ["purge", "--auto-remove", "curl", "vim-tiny"]
    assert apt.upgrade_all() == APT_BASE + ["dist-upgrade"]
    assert apt.install(PKGS) == APT_BASE + ["install", "curl", "vim-tiny"]
    assert apt.update(PKGS) == APT_BASE + ["install", "--only-upgrade", "curl", "vim-tiny"]
    assert apt.clean() == ["apt-get", "clean"]
    # the class-level base list is never mutated by building argv
    apt.install(["x"])
    assert pm.Apt.base == APT_BASE


def test_dnf_argv():
    dnf = pm.Dnf()
    base = ["dnf", "-y", "--setopt=install_weak_deps=False"]
    assert (dnf.name, dnf.binary, dnf.env) == ("dnf", "dnf", {})
    assert dnf.refresh() is None
    assert dnf.remove(PKGS) == base + ["remove", "curl", "vim-tiny"]
    assert dnf.upgrade_all() == base + ["upgrade", "--refresh"]
    assert dnf.install(PKGS) == base + ["install", "curl", "vim-tiny"]
    assert dnf.update(PKGS) == base + ["upgrade", "curl", "vim-tiny"]
    assert dnf.clean() == ["dnf", "clean", "all"]


def test_tdnf_argv():
    tdnf = pm.Tdnf()
    base = ["tdnf", "-y"]
    assert (tdnf.name, tdnf.binary) == ("tdnf", "tdnf")
    assert tdnf.refresh() is None
    assert tdnf.remove(PKGS) == base + ["remove", "curl", "vim-tiny"]
    assert tdnf.upgrade_all() == base + ["upgrade", "--refresh"]
    assert tdnf.install(PKGS) == base + ["install", "curl", "vim-tiny"]
    assert tdnf.update(PKGS) == base + ["upgrade", "curl", "vim-tiny"]
    assert tdnf.clean() == ["tdnf", "clean", "all"]


def test_zypper_argv():
    zypper = pm.Zypper()
    base = ["zypper", "--non-interactive"]
    assert (zypper.name, zypper.binary) == ("zypper", "zypper")
    assert zypper.refresh() == base + ["refresh"]
    assert zypper.remove(PKGS) == base + ["remove", "--clean-deps", "curl", "vim-tiny"]
    assert zypper.upgrade_all() == base + ["update"]
    assert zypper.install(PKGS) == base + ["install", "--no-recommends", "curl", "vim-tiny"]
    assert zypper.update(PKGS) == base + ["update", "curl", "vim-tiny"]
    assert zypper.clean() == base + ["clean", "--all"]


def test_base_class():
    base = pm.PackageManager()
    assert base.refresh() is None and base.clean() is None
    for method in (base.upgrade_all,):
        with pytest.raises(NotImplementedError):
            method()
    for method in (base.remove, base.install, base.update):
        with pytest.raises(NotImplementedError):
            method(["x"])


def _exe(root, rel, mode=0o755):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n")
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("rel,expected", [
    ("usr/bin/apt-get", pm.Apt),
    ("usr/bin/dnf", pm.Dnf),
    ("usr/bin/tdnf", pm.Tdnf),
    ("usr/bin/zypper", pm.Zypper),
    ("bin/apt-get", pm.Apt),
    ("usr/local/sbin/zypper", pm.Zypper),
    ("sbin/dnf", pm.Dnf),
])
def test_detect(tmp_path, rel, expected):
    _exe(tmp_path, rel)
    found = pm.detect(Chroot(str(tmp_path)))
    assert found.__class__ is expected


def test_detect_prefers_tdnf_over_dnf(tmp_path):
    _exe(tmp_path, "usr/bin/dnf")
    _exe(tmp_path, "usr/bin/tdnf")
    assert pm.detect(Chroot(str(tmp_path))).__class__ is pm.Tdnf


def test_detect_through_merged_usr_symlink(tmp_path):
    _exe(tmp_path, "usr/bin/apt-get")
    os.symlink("usr/sbin", str(tmp_path / "sbin"))
    os.symlink("/usr/bin", str(tmp_path / "bin"))
    chroot = Chroot(str(tmp_path))
    assert chroot.which("apt-get") == "/usr/bin/apt-get"
    assert pm.detect(chroot).__class__ is pm.Apt


def test_detect_follows_absolute_symlink_inside_root(tmp_path):
    _exe(tmp_path, "usr/bin/dnf-3")
    os.symlink("/usr/bin/dnf-3", str(tmp_path / "usr" / "bin" / "dnf"))
    assert pm.detect(Chroot(str(tmp_path))).__class__ is pm.Dnf


def test_detect_does_not_see_the_host(tmp_path):
    # An absolute link to a host binary that the image does not contain: not a package manager of the image.
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    os.symlink("/bin/sh", str(tmp_path / "usr" / "bin" / "zypper"))
    assert os.path.exists("/bin/sh")
    with pytest.raises(ImageError):
        pm.detect(Chroot(str(tmp_path)))


def test_detect_ignores_non_executable_and_directories(tmp_path):
    _exe(tmp_path, "usr/bin/apt-get", mode=0o644)
    (tmp_path / "usr" / "bin" / "dnf").mkdir()
    with pytest.raises(ImageError) as info:
        pm.detect(Chroot(str(tmp_path)))
    assert str(info.value).startswith(
        "the image has no supported package manager (looked for apt-get, tdnf, dnf, zypper).")
    assert "Remove os.packages from the config" in info.value.hint


def test_detect_empty_root(tmp_path):
    with pytest.raises(ImageError):
        pm.detect(Chroot(str(tmp_path)))


def test_kinds_carry_their_manager():
    assert [kind.value for kind in pm.PackageManagerKind] == ["apt", "tdnf", "dnf", "zypper"]  # detection order
    for kind in pm.PackageManagerKind:
        manager = kind.manager()
        assert manager.kind is kind and manager.name == kind.value and kind.binary == manager.binary
    assert pm.PackageManagerKind("zypper").manager().__class__ is pm.Zypper
    assert pm.PackageManagerKind.APT.binary == "apt-get"
