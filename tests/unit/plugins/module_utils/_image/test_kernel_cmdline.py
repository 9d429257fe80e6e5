# SPDX-License-Identifier: GPL-3.0-or-later
"""kernel_cmdline.py: GRUB quoting and appending kernel arguments to boot configurations."""

import os
import subprocess

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._image import chroot as chroot_mod
from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import (
    append_to_default_grub,
    append_to_grub_cfg,
    append_to_kernel_cmdline_file,
    grub_cfg_args,
    grub_quote,
    grub_words,
    missing_args,
    update_boot_configs,
)

NOCLOUD = "ds=nocloud;s=file:///x/"


@pytest.mark.parametrize("arg,quoted", [
    ("quiet", "quiet"),
    ("console=ttyS0,115200n8", "console=ttyS0,115200n8"),
    ("root=UUID=0b1c-22", "root=UUID=0b1c-22"),
    (NOCLOUD, "'ds=nocloud;s=file:///x/'"),
    ("a b", "'a b'"),
    ("it's", "'it'\\''s'"),
    ("", "''"),
    ("$root", "'$root'"),
    ('say="hi"', "'say=\"hi\"'"),
    ("a\tb", "'a\tb'"),
    ("x#y", "'x#y'"),
])
def test_grub_quote(arg, quoted):
    assert grub_quote(arg) == quoted
    assert grub_words(quoted) == [arg]


def test_grub_words_round_trip():
    args = ["quiet", NOCLOUD, "with space", "it's", "", "a'b'c", "back\\slash", "semi;colon", "{brace}",
            "x|y&z", 'dq"inside']
    text = " ".join(grub_quote(a) for a in args)
    assert grub_words(text) == args
    assert grub_words("  " + text + "\t ") == args


@pytest.mark.parametrize("text,words", [
    ("", []),
    ("   ", []),
    ("root=/dev/sda1 ro  quiet", ["root=/dev/sda1", "ro", "quiet"]),
    ('"double quoted" x', ["double quoted", "x"]),
    ('"a\\"b"', ['a"b']),
    ("back\\ slash", ["back slash"]),
    ("pre'mid dle'post", ["premid dlepost"]),
    ("''", [""]),
])
def test_grub_words(text, words):
    assert grub_words(text) == words


def test_missing_args_keeps_order_and_dedups():
    assert missing_args(["ro", "quiet"], ["quiet", "a", "b", "a", "ro", "c"]) == ["a", "b", "c"]


GRUB_CFG = (
    "# generated\n"
    "set default=0\n"
    "menuentry 'Debian GNU/Linux' --class debian {\n"
    "\tload_video\n"
    "\techo\t'Loading Linux 6.1 ...'\n"
    "\tlinux\t/boot/vmlinuz-6.1 root=UUID=abc ro quiet\n"
    "\tinitrd\t/boot/initrd.img-6.1\n"
    "}\n"
    "menuentry 'Recovery' {\n"
    "  linux /boot/vmlinuz-6.1 root=UUID=abc ro single console=ttyS0   \n"
    "  initrd /boot/initrd.img-6.1\n"
    "}\n"
    "menuentry 'EFI' {\n"
    "    linuxefi /vmlinuz\n"
    "}\n"
    "# linux /commented out\n"
    "set linux_gfx_mode=keep\n"
    "linux16 /memtest 'ds=nocloud;s=file:///x/'"
)


def test_append_to_grub_cfg():
    args = ["console=ttyS0", NOCLOUD, "a b"]
    new = append_to_grub_cfg(GRUB_CFG, args)
    old_lines = GRUB_CFG.splitlines(True)
    new_lines = new.splitlines(True)
    assert len(new_lines) == len(old_lines)
    expected = {
        5: "\tlinux\t/boot/vmlinuz-6.1 root=UUID=abc ro quiet console=ttyS0 'ds=nocloud;s=file:///x/' 'a b'\n",
        9: "  linux /boot/vmlinuz-6.1 root=UUID=abc ro single console=ttyS0 'ds=nocloud;s=file:///x/' 'a b'\n",
        13: "    linuxefi /vmlinuz console=ttyS0 'ds=nocloud;s=file:///x/' 'a b'\n",
        17: "linux16 /memtest 'ds=nocloud;s=file:///x/' console=ttyS0 'a b'",  # last line: no newline added
    }
    for index, (old, line) in enumerate(zip(old_lines, new_lines)):
        if index in expected:
            assert line == expected[index]
        else:
            assert line == old  # byte-identical
    assert grub_cfg_args(new) == ["root=UUID=abc", "ro", "quiet", "console=ttyS0", NOCLOUD, "a b"]
    # second application is a no-op
    assert append_to_grub_cfg(new, args) == new


def test_append_to_grub_cfg_nothing_missing_is_identical():
    assert append_to_grub_cfg(GRUB_CFG, ["ro"]) != GRUB_CFG  # the EFI and memtest entries lack it
    text = "linux /vmlinuz ro quiet\n"
    assert append_to_grub_cfg(text, ["quiet", "ro"]) == text
    assert append_to_grub_cfg("", ["quiet"]) == ""
    assert append_to_grub_cfg("no kernels here\n", ["quiet"]) == "no kernels here\n"


def test_grub_cfg_args():
    assert grub_cfg_args(GRUB_CFG) == ["root=UUID=abc", "ro", "quiet"]
    assert grub_cfg_args("set x=1\n") == []
    assert grub_cfg_args("linux /k 'a b' \"c d\"\n") == ["a b", "c d"]


DEFAULT_GRUB = (
    "GRUB_DEFAULT=0\n"
    "GRUB_TIMEOUT=5\n"
    'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n'
    'GRUB_CMDLINE_LINUX="console=tty0"\n'
    "# end\n"
)


def test_append_to_default_grub_existing_var():
    new = append_to_default_grub(DEFAULT_GRUB, ["console=ttyS0", NOCLOUD])
    assert new == DEFAULT_GRUB.replace(
        'GRUB_CMDLINE_LINUX="console=tty0"',
        'GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0 \'ds=nocloud;s=file:///x/\'"')
    assert append_to_default_grub(new, ["console=ttyS0", NOCLOUD]) == new
    assert append_to_default_grub(new, ["console=tty0"]) == new


def test_append_to_default_grub_single_quoted_and_empty():
    tail = "GRUB_TIMEOUT=5\n"
    assert append_to_default_grub("GRUB_CMDLINE_LINUX='quiet splash'\n" + tail, ["x=1"]) == \
        'GRUB_CMDLINE_LINUX="quiet splash x=1"\n' + tail
    assert append_to_default_grub('GRUB_CMDLINE_LINUX=""\n' + tail, ["x=1"]) == 'GRUB_CMDLINE_LINUX="x=1"\n' + tail
    assert append_to_default_grub("GRUB_CMDLINE_LINUX=\n" + tail, ["x=1"]) == 'GRUB_CMDLINE_LINUX="x=1"\n' + tail


@pytest.mark.parametrize("before,after", [
    ('GRUB_CMDLINE_LINUX="quiet"\n', 'GRUB_CMDLINE_LINUX="quiet x=1"\n'),
    ('GRUB_CMDLINE_LINUX="quiet"\n\nGRUB_TIMEOUT=5\n', 'GRUB_CMDLINE_LINUX="quiet x=1"\n\nGRUB_TIMEOUT=5\n'),
], ids=["last-line", "blank-line-after"])
def test_append_to_default_grub_keeps_line_structure(before, after):
    assert append_to_default_grub(before, ["x=1"]) == after


def test_append_to_default_grub_absent_var():
    assert append_to_default_grub("GRUB_DEFAULT=0\n", ["console=ttyS0"]) == \
        'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
    assert append_to_default_grub("GRUB_DEFAULT=0", ["console=ttyS0"]) == \
        'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
    assert append_to_default_grub("GRUB_DEFAULT=0\n\n\n", ["a"]) == 'GRUB_DEFAULT=0\n\n\nGRUB_CMDLINE_LINUX="a"\n'
    assert append_to_default_grub("", ["console=ttyS0"]) == 'GRUB_CMDLINE_LINUX="console=ttyS0"\n'
    # GRUB_CMDLINE_LINUX_DEFAULT alone is not GRUB_CMDLINE_LINUX
    assert append_to_default_grub('GRUB_CMDLINE_LINUX_DEFAULT="quiet"\n', ["a"]) == \
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="a"\n'


def _shell_value(tmp_path, text):
    """What grub-mkconfig sees: /etc/default/grub sourced by a POSIX shell."""
    path = tmp_path / "default-grub"
    path.write_text(text)
    out = subprocess.run(["sh", "-c", '. "$1"; printf %s "$GRUB_CMDLINE_LINUX"', "sh", str(path)],
                         check=True, stdout=subprocess.PIPE, env={"PATH": "/usr/bin:/bin"})
    return out.stdout.decode()


def test_default_grub_value_survives_the_shell(tmp_path):
    args = ["console=ttyS0", NOCLOUD, "a b", "it's"]
    new = append_to_default_grub(DEFAULT_GRUB, args)
    assert grub_words(_shell_value(tmp_path, new)) == ["console=tty0"] + args


def test_append_to_default_grub_idempotent_with_double_quote():
    once = append_to_default_grub('GRUB_CMDLINE_LINUX="quiet"\n', ['a"b'])
    assert append_to_default_grub(once, ['a"b']) == once


def test_default_grub_dollar_survives_the_shell(tmp_path):
    new = append_to_default_grub('GRUB_CMDLINE_LINUX="quiet"\n', ["a$b"])
    assert grub_words(_shell_value(tmp_path, new)) == ["quiet", "a$b"]


def test_append_to_kernel_cmdline_file():
    assert append_to_kernel_cmdline_file("root=/dev/sda1 ro\n", ["quiet", "ro"]) == "root=/dev/sda1 ro quiet\n"
    text = "root=/dev/sda1 ro quiet\n"
    assert append_to_kernel_cmdline_file(text, ["quiet"]) is text
    assert append_to_kernel_cmdline_file("", ["quiet", "quiet"]) == "quiet\n"


def test_update_boot_configs(tmp_path):
    root = tmp_path / "root"
    (root / "boot" / "grub").mkdir(parents=True)
    (root / "etc" / "default").mkdir(parents=True)
    (root / "etc" / "kernel").mkdir(parents=True)
    grub_cfg = root / "boot" / "grub" / "grub.cfg"
    grub_cfg.write_text("linux /vmlinuz ro\n")
    os.chmod(grub_cfg, 0o400)
    (root / "etc" / "default" / "grub").write_text('GRUB_CMDLINE_LINUX=""\nGRUB_TIMEOUT=5\n')
    (root / "etc" / "kernel" / "cmdline").write_text("root=/dev/sda1 console=ttyS0\n")
    chroot = chroot_mod.Chroot(str(root))
    changed = update_boot_configs(chroot, ("console=ttyS0", NOCLOUD))
    assert changed == ["/boot/grub/grub.cfg", "/etc/default/grub", "/etc/kernel/cmdline"]
    assert grub_cfg.read_text() == "linux /vmlinuz ro console=ttyS0 'ds=nocloud;s=file:///x/'\n"
    assert os.stat(grub_cfg).st_mode & 0o7777 == 0o400  # mode kept
    assert (root / "etc" / "default" / "grub").read_text() == \
        "GRUB_CMDLINE_LINUX=\"console=ttyS0 'ds=nocloud;s=file:///x/'\"\nGRUB_TIMEOUT=5\n"
    assert (root / "etc" / "kernel" / "cmdline").read_text() == "root=/dev/sda1 console=ttyS0 %s\n" % NOCLOUD
    assert not any(name.startswith(".") for walked in os.walk(str(root)) for name in walked[2])  # no temp files
    assert update_boot_configs(chroot, ("console=ttyS0", NOCLOUD)) == []
    assert update_boot_configs(chroot_mod.Chroot(str(tmp_path / "empty-root")), ("quiet",)) == []


def test_bls_entry_options_line():
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.kernel_cmdline import append_to_bls_entry
    entry = "title Fedora\nlinux /vmlinuz-6.5\noptions root=UUID=x ro quiet\ninitrd /initramfs-6.5.img\n"
    out = append_to_bls_entry(entry, ["console=ttyS0", "quiet"])
    assert out == "title Fedora\nlinux /vmlinuz-6.5\noptions root=UUID=x ro quiet console=ttyS0\ninitrd /initramfs-6.5.img\n"
    assert append_to_bls_entry(out, ["console=ttyS0"]) == out
    assert append_to_bls_entry("title X\n", ["a=1"]) == "title X\noptions a=1\n"


def test_default_grub_counts_default_variable_as_present():
    text = 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n'
    assert append_to_default_grub(text, ["quiet", "console=ttyS0"]) == \
        'GRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n'
