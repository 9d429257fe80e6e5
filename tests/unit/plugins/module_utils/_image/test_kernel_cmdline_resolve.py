# SPDX-License-Identifier: GPL-3.0-or-later
"""kernel_cmdline.py, reading side: the image's kernel line resolved as GRUB would (grubenv, set, load_env, BLS).

The Azure Linux cases run on the reference's real grub.cfg and /etc/default/grub files (bootcfgtests).
"""

import os
import shutil
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import (
    GRUBENV_SIGNATURE,
    GRUBENV_SIZE,
    expand_word,
    grub_statements,
    image_kernel_args,
    parse_bls_entry,
    parse_grubenv,
    read_env_file,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), *[".."] * 5))
BOOTCFG = os.environ.get("LIVEISO_BOOTCFG_DIR", os.path.join(os.path.dirname(REPO), "shared", "reference",
                                                             "image-customizer", "testdata", "bootcfgtests"))
if not os.path.isdir(BOOTCFG):  # a worktree elsewhere: the project's shared folder
    BOOTCFG = "/work/shared/reference/image-customizer/testdata/bootcfgtests"
needs_bootcfg = pytest.mark.skipif(not os.path.isfile(os.path.join(BOOTCFG, "2.0-grub.cfg")),
                                   reason="the reference's bootcfgtests files are not at %s" % BOOTCFG)
ROOT_UUID = "0c2e6f4a-8b1d-4e7a-9c3f-5d6e7f809102"


def grubenv(variables):
    """A 1024-byte GRUB environment block, as grub-editenv writes it (backslash and newline escaped)."""
    body = "".join("%s=%s\n" % (k, v.replace("\\", "\\\\").replace("\n", "\\\n")) for k, v in variables.items())
    text = GRUBENV_SIGNATURE + body
    return (text + "#" * (GRUBENV_SIZE - len(text.encode()))).encode()


def put(root, image_path, data):
    path = os.path.join(str(root), image_path.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode())
    return path


def reference(name):
    with open(os.path.join(BOOTCFG, name)) as handle:
        return handle.read()


# ---------------------------------------------------------------- grubenv and load_env files

def test_parse_grubenv_block():
    block = grubenv({"kernelopts": "root=UUID=abc ro quiet", "saved_entry": "x-6.1", "odd": "a\\b\nc"})
    assert len(block) == GRUBENV_SIZE
    assert parse_grubenv(block) == {"kernelopts": "root=UUID=abc ro quiet", "saved_entry": "x-6.1", "odd": "a\\b\nc"}
    assert parse_grubenv(b"kernelopts=x\n") is None  # no signature: not an environment block
    assert parse_grubenv(grubenv({})) == {}


@pytest.mark.skipif(not shutil.which("grub-editenv"), reason="grub-editenv missing (grub-common)")
def test_parse_grubenv_written_by_grub_editenv(tmp_path):
    path = str(tmp_path / "grubenv")
    subprocess.run(["grub-editenv", path, "create"], check=True)
    subprocess.run(["grub-editenv", path, "set", "kernelopts=root=UUID=abc ro liveiso.test=1", "saved_entry=e1",
                    "tricky=a\\b"], check=True)
    with open(path, "rb") as handle:
        data = handle.read()
    assert len(data) == GRUBENV_SIZE
    assert parse_grubenv(data) == {"kernelopts": "root=UUID=abc ro liveiso.test=1", "saved_entry": "e1",
                                   "tricky": "a\\b"}


def test_read_env_file_plain_lines():
    """Azure Linux's /boot/mariner.cfg has no signature; load_env reads it all the same."""
    assert read_env_file(b"mariner_linux=vmlinuz-5.15\nmariner_cmdline=ro loglevel=3\n# comment\n") == {
        "mariner_linux": "vmlinuz-5.15", "mariner_cmdline": "ro loglevel=3"}


# ---------------------------------------------------------------- words and expansion

def words(text, env):
    return [w for statement in grub_statements(text) for raw in statement for w in expand_word(raw, env)]


@pytest.mark.parametrize("text,expected", [
    ("a $x b", ["a", "1", "2", "b"]),                # unquoted: split at blanks
    ('a "$x" b', ["a", "1 2", "b"]),                  # double quotes: one word
    ("a '$x' b", ["a", "$x", "b"]),                   # single quotes: literal
    ("a \\$x b", ["a", "$x", "b"]),                   # escaped
    ("a ${x}z", ["a", "1", "2z"]),
    ("a $none b", ["a", "b"]),                        # undefined: empty, no word
    ('a "" b', ["a", "", "b"]),                       # a quoted empty word stays
    ("pre$y", ["pre"]),
    ("k=$x", ["k=1", "2"]),
    ('k="$x"', ["k=1 2"]),
    ("a # comment $x", ["a"]),
    ("x=\"a\\\"b\"", ['x=a"b']),
])
def test_expansion(text, expected):
    assert words(text, {"x": "1 2", "y": ""}) == expected


def test_statements_split_at_semicolons_and_newlines():
    statements = grub_statements("if [ -f a ]; then\n  set x='a;b'\nfi\n")
    assert [[w for raw in s for w in expand_word(raw, {})] for s in statements] == [
        ["if", "[", "-f", "a", "]"], ["then"], ["set", "x=a;b"], ["fi"]]


# ---------------------------------------------------------------- whole images

def test_debian_plain_linux_line(tmp_path):
    put(tmp_path, "/boot/grub/grub.cfg", "set default=0\nmenuentry 'Debian' {\n\tsearch --set=root x\n"
        "\tlinux\t/boot/vmlinuz-6.1 root=UUID=%s ro console=ttyS0,115200n8 quiet\n}\n" % ROOT_UUID)
    found = image_kernel_args(Chroot(str(tmp_path)))
    assert found.args == ["root=UUID=%s" % ROOT_UUID, "ro", "console=ttyS0,115200n8", "quiet"]
    assert found.source == "/boot/grub/grub.cfg" and found.undefined == []


@needs_bootcfg
def test_azure_linux_2_grub_cfg(tmp_path):
    """The real 2.0 grub.cfg: $mariner_cmdline from mariner.cfg, $systemd_cmdline set (no systemd.cfg),
    $kernelopts from grubenv, $rootdevice from its own set line."""
    put(tmp_path, "/boot/grub2/grub.cfg", reference("2.0-grub.cfg"))
    put(tmp_path, "/boot/mariner.cfg", "mariner_linux=vmlinuz-5.15.1\nmariner_initrd=initramfs-5.15.1.img\n"
        "mariner_cmdline=init=/lib/systemd/systemd ro loglevel=3 no-vmw-sta crashkernel=256M\n")
    put(tmp_path, "/boot/grub2/grubenv", grubenv({"kernelopts": "liveiso.test=kernelopts-resolved console=ttyS0"}))
    found = image_kernel_args(Chroot(str(tmp_path)))
    assert found.args == [
        "rd.auto=1", "root=PARTUUID=c17c558b-068b-459c-92cb-f218d14b44a1", "init=/lib/systemd/systemd", "ro",
        "loglevel=3", "no-vmw-sta", "crashkernel=256M", "lockdown=integrity",
        "sysctl.kernel.unprivileged_bpf_disabled=1", "net.ifnames=0", "liveiso.test=kernelopts-resolved",
        "console=ttyS0"]
    assert not any("$" in arg for arg in found.args)
    assert found.source == "/boot/grub2/grub.cfg" and found.undefined == []


@needs_bootcfg
def test_azure_linux_2_systemd_cfg_and_separate_boot(tmp_path):
    """systemd.cfg present: load_env reads it instead of the set line; an empty grubenv leaves $kernelopts
    empty (named in ``undefined``); paths relative to a separate /boot partition resolve too."""
    text = reference("2.0-grub.cfg").replace("set bootprefix=/boot", "set bootprefix=")
    put(tmp_path, "/boot/grub2/grub.cfg", text)
    put(tmp_path, "/boot/mariner.cfg", grubenv({"mariner_cmdline": "ro"}))
    put(tmp_path, "/boot/systemd.cfg", "systemd_cmdline=systemd.unified_cgroup_hierarchy=1\n")
    put(tmp_path, "/boot/grub2/grubenv", grubenv({}))
    found = image_kernel_args(Chroot(str(tmp_path)))
    assert found.args == ["rd.auto=1", "root=PARTUUID=c17c558b-068b-459c-92cb-f218d14b44a1", "ro",
                          "lockdown=integrity", "sysctl.kernel.unprivileged_bpf_disabled=1",
                          "systemd.unified_cgroup_hierarchy=1"]
    assert found.undefined == ["kernelopts", "mariner_linux"]  # the kernel path too: mariner.cfg lacks it


@needs_bootcfg
@pytest.mark.parametrize("release", ["2.0", "3.0"])
def test_azure_linux_default_grub_fallback(tmp_path, release):
    """No usable grub.cfg (3.0's reference file is empty): /etc/default/grub as grub-mkconfig would use it,
    its unescaped "$kernelopts" resolved from grubenv."""
    put(tmp_path, "/boot/grub2/grub.cfg", reference("3.0-grub.cfg"))
    put(tmp_path, "/etc/default/grub", reference("%s-default-grub" % release))
    put(tmp_path, "/boot/grub2/grubenv", grubenv({"kernelopts": "root=UUID=x ro liveiso.test=kernelopts-resolved"}))
    found = image_kernel_args(Chroot(str(tmp_path)))
    head = ["rd.auto=1", "net.ifnames=0", "lockdown=integrity"] if release == "3.0" else ["rd.auto=1"]
    assert found.args[:len(head)] == head
    assert found.args[-3:] == ["root=UUID=x", "ro", "liveiso.test=kernelopts-resolved"]
    assert found.source == "/etc/default/grub (with /boot/grub2/grubenv)"


FEDORA_GRUB_CFG = """\
set pager=1
if [ -f ${config_directory}/grubenv ]; then
  load_env -f ${config_directory}/grubenv
elif [ -s $prefix/grubenv ]; then
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
else
   set default="${saved_entry}"
fi
### BEGIN /etc/grub.d/10_linux ###
insmod part_gpt
insmod ext2
if [ -z "${kernelopts}" ]; then
  set kernelopts="root=UUID=%s ro default.from.grub.cfg "
fi
insmod blscfg
blscfg
### END /etc/grub.d/10_linux ###
""" % ROOT_UUID


def fedora_root(root, kernelopts=None, versions=("6.1.0-13-amd64",)):
    put(root, "/boot/grub2/grub.cfg", FEDORA_GRUB_CFG)
    put(root, "/boot/grub2/grubenv", grubenv({"kernelopts": kernelopts} if kernelopts else {}))
    for version in versions:
        put(root, "/boot/loader/entries/0123abcd-%s.conf" % version,
            "title Fedora (%s)\nversion %s\nlinux /vmlinuz-%s\ninitrd /initramfs-%s.img\n"
            "options $kernelopts\ngrub_users $grub_users\ngrub_arg --unrestricted\n" % ((version,) * 4))


def test_bls_options_from_grubenv(tmp_path):
    fedora_root(tmp_path, "root=UUID=%s ro liveiso.test=kernelopts-resolved" % ROOT_UUID)
    found = image_kernel_args(Chroot(str(tmp_path)))
    assert found.args == ["root=UUID=%s" % ROOT_UUID, "ro", "liveiso.test=kernelopts-resolved"]
    assert found.source == ("/boot/loader/entries/0123abcd-6.1.0-13-amd64.conf (blscfg in /boot/grub2/grub.cfg)")


def test_bls_kernelopts_default_in_grub_cfg(tmp_path):
    """grubenv without kernelopts: grub.cfg's `if [ -z "${kernelopts}" ]` default applies."""
    fedora_root(tmp_path)
    assert image_kernel_args(Chroot(str(tmp_path))).args == ["root=UUID=%s" % ROOT_UUID, "ro",
                                                             "default.from.grub.cfg"]


def test_bls_entry_choice(tmp_path):
    fedora_root(tmp_path, "quiet", versions=("6.1.0-9-amd64", "6.1.0-13-amd64", "5.10.0-1-amd64"))
    put(tmp_path, "/boot/loader/entries/0123abcd-6.1.0-9-amd64.conf",
        "version 6.1.0-9-amd64\nlinux /vmlinuz-6.1.0-9-amd64\noptions $kernelopts nine\n")
    chroot = Chroot(str(tmp_path))
    assert image_kernel_args(chroot).source.startswith("/boot/loader/entries/0123abcd-6.1.0-13-amd64.conf")
    assert image_kernel_args(chroot, "6.1.0-9-amd64").args == ["quiet", "nine"]
    put(tmp_path, "/boot/grub2/grubenv", grubenv({"kernelopts": "quiet", "saved_entry": "0123abcd-5.10.0-1-amd64"}))
    assert image_kernel_args(chroot).source.startswith("/boot/loader/entries/0123abcd-5.10.0-1-amd64.conf")


def test_bls_entry_keys():
    keys = parse_bls_entry("# c\ntitle  A B\noptions root=x ro\noptions quiet\nversion 1\n\n")
    assert keys == {"title": "A B", "options": "root=x ro quiet", "version": "1"}


def test_if_else_nesting_and_inactive_entries(tmp_path):
    put(tmp_path, "/boot/grub/grub.cfg", """\
set a=outer
if [ -f /nope ]; then
  set a=wrong
  if [ -z "" ]; then set a=wrong2; fi
elif [ "$a" = "outer" ]; then
  set b=elif
else
  set b=wrong
fi
if [ -e /boot/grub/grub.cfg ]; then set c=exists; else set c=missing; fi
if [ ! -d /boot ]; then
  menuentry 'inactive' {
    linux /k wrong
  }
fi
function f {
  linux /k in-function
}
submenu 'more' {
  menuentry 'sub' {
    linux /k wrong
  }
}
menuentry 'first' --class debian {
  set local=yes
  if [ "$c" = exists ]; then
    linux /k a=$a b=$b c=$c l=$local $undefined_one
  else
    linux /k wrong
  fi
}
menuentry 'second' { linux /k wrong }
""")
    found = image_kernel_args(Chroot(str(tmp_path)))
    assert found.args == ["a=outer", "b=elif", "c=exists", "l=yes"]
    assert found.undefined == ["undefined_one"]


def test_nothing_found(tmp_path):
    assert image_kernel_args(Chroot(str(tmp_path))) is None
    put(tmp_path, "/boot/grub/grub.cfg", "set timeout=1\n")
    assert image_kernel_args(Chroot(str(tmp_path))) is None


def test_grubenv_outside_root_is_not_read(tmp_path):
    """load_env -f with an absolute or ../ path stays inside the image."""
    outside = tmp_path / "host-grubenv"
    outside.write_bytes(grubenv({"kernelopts": "HOST"}))
    root = tmp_path / "root"
    put(root, "/boot/grub/grub.cfg", "load_env -f ../../host-grubenv\nmenuentry x {\n linux /k $kernelopts\n}\n")
    os.symlink(str(outside), str(root / "boot" / "link-grubenv"))
    found = image_kernel_args(Chroot(str(root)))
    assert found.args == [] and found.undefined == ["kernelopts"]
