# SPDX-License-Identifier: GPL-3.0-or-later
"""safe_path.py: paths inside an untrusted image root never resolve outside it."""

import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError, ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import image_path, resolve_in_root


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    for d in ("etc", "usr/bin", "usr/lib", "usr/share/doc", "var", "private/etc"):
        (r / d).mkdir(parents=True)
    return str(r)


def j(root, *parts):
    return os.path.join(root, *parts)


def test_plain_paths(root):
    assert resolve_in_root(root, "/etc/passwd") == j(root, "etc", "passwd")
    assert resolve_in_root(root, "etc/passwd") == j(root, "etc", "passwd")
    assert resolve_in_root(root, "/") == root
    assert resolve_in_root(root, "") == root
    assert resolve_in_root(root, "/./etc//./x/") == j(root, "etc", "x")
    assert resolve_in_root(root, "/not/yet/existing") == j(root, "not", "yet", "existing")


def test_root_itself_is_resolved(root, tmp_path):
    link = str(tmp_path / "rootlink")
    os.symlink(root, link)
    assert resolve_in_root(link, "/etc/x") == j(root, "etc", "x")


@pytest.mark.parametrize("path,expected", [
    ("/..", ()),
    ("/../../../etc/shadow", ("etc", "shadow")),
    ("/usr/../../etc/x", ("etc", "x")),
    ("/usr/bin/../lib/x", ("usr", "lib", "x")),
    ("../../x", ("x",)),
])
def test_dotdot_never_climbs_above_root(root, path, expected):
    assert resolve_in_root(root, path) == j(root, *expected)


def test_absolute_symlink_stays_in_root(root):
    os.rmdir(j(root, "etc"))
    os.symlink("/host-etc-canary-dir", j(root, "etc"))
    assert resolve_in_root(root, "/etc/passwd") == j(root, "host-etc-canary-dir", "passwd")


def test_absolute_symlink_chain(root):
    os.symlink("/b", j(root, "a"))
    os.symlink("/c/d", j(root, "b"))
    assert resolve_in_root(root, "/a/x") == j(root, "c", "d", "x")


def test_absolute_symlink_to_slash(root):
    os.symlink("/", j(root, "var", "rootlink"))
    assert resolve_in_root(root, "/var/rootlink/etc/x") == j(root, "etc", "x")


def test_relative_symlinks(root):
    os.symlink("lib", j(root, "usr", "lib64"))
    os.symlink("usr/bin", j(root, "bin"))
    assert resolve_in_root(root, "/usr/lib64/libc.so") == j(root, "usr", "lib", "libc.so")
    assert resolve_in_root(root, "/bin/sh") == j(root, "usr", "bin", "sh")


def test_relative_symlink_climbing_out(root):
    os.symlink("../../../../../../../../etc", j(root, "usr", "share", "doc", "escape"))
    assert resolve_in_root(root, "/usr/share/doc/escape/passwd") == j(root, "etc", "passwd")


def test_dotdot_after_symlink_uses_link_target_parent(root):
    # like the kernel: /link/.. is the parent of the link's target, not the link's parent
    os.symlink("/private/etc", j(root, "var", "link"))
    assert resolve_in_root(root, "/var/link/../x") == j(root, "private", "x")


def test_dangling_final_symlink_followed(root):
    os.symlink("/run/systemd/resolve/stub-resolv.conf", j(root, "etc", "resolv.conf"))
    assert resolve_in_root(root, "/etc/resolv.conf") == j(root, "run", "systemd", "resolve", "stub-resolv.conf")


def test_follow_final_false(root):
    os.symlink("/run/systemd/resolve/stub-resolv.conf", j(root, "etc", "resolv.conf"))
    assert resolve_in_root(root, "/etc/resolv.conf", follow_final=False) == j(root, "etc", "resolv.conf")
    # intermediate links are still followed
    os.symlink("/private/etc", j(root, "pe"))
    os.symlink("/elsewhere", j(root, "private", "etc", "hosts"))
    assert resolve_in_root(root, "/pe/hosts", follow_final=False) == j(root, "private", "etc", "hosts")
    assert resolve_in_root(root, "/pe/hosts") == j(root, "elsewhere")


@pytest.mark.parametrize("links", [
    {"a": "b", "b": "a"},
    {"a": "a"},
    {"a": "/a"},
    {"a": "/b/x", "b": "/a"},
])
def test_symlink_loops_raise_image_error(root, links):
    for name, target in links.items():
        os.symlink(target, j(root, name))
    with pytest.raises(ImageError) as info:
        resolve_in_root(root, "/a/file")
    assert "too many levels of symbolic links" in str(info.value)
    assert "symlink loop" in str(info.value)


def test_loop_in_final_component_not_followed(root):
    os.symlink("a", j(root, "a"))
    assert resolve_in_root(root, "/a", follow_final=False) == j(root, "a")


def test_nasty_paths_stay_inside(root):
    os.symlink("/..", j(root, "up"))
    os.symlink("../../..", j(root, "etc", "rel-up"))
    os.symlink("/proc/self/root", j(root, "var", "proc-root"))
    for path in ("/up/up/x", "/etc/rel-up/etc/rel-up/y", "/var/proc-root/etc", "/up/../..", "/etc/rel-up"):
        result = resolve_in_root(root, path)
        assert result == root or result.startswith(root + os.sep), (path, result)


@pytest.mark.parametrize("value,expected", [
    ("/etc/motd", "/etc/motd"),
    ("//etc//motd/", "/etc/motd"),
    ("///x", "/x"),
    ("/etc/./motd", "/etc/motd"),
    ("/", "/"),
    ("/opt/a b", "/opt/a b"),
])
def test_image_path_valid(value, expected):
    assert image_path(value, "k") == expected


@pytest.mark.parametrize("value,fragment", [
    ("", "must be a non-empty absolute path"),
    (None, "must be a non-empty absolute path"),
    (5, "must be a non-empty absolute path"),
    ("etc/motd", "'etc/motd' is not an absolute path"),
    ("./etc", "is not an absolute path"),
    ("/etc/../shadow", "'/etc/../shadow' contains '..'"),
    ("/..", "contains '..'"),
    ("/etc/x/..", "contains '..'"),
    ("/a\x00b", "contains a NUL byte"),
])
def test_image_path_invalid(value, fragment):
    with pytest.raises(ConfigError) as info:
        image_path(value, "config.os.additionalFiles[3].destination")
    assert info.value.path == "config.os.additionalFiles[3].destination"
    assert fragment in info.value.message


def test_image_path_dots_in_names_are_fine():
    assert image_path("/etc/..hidden/x..y", "k") == "/etc/..hidden/x..y"
