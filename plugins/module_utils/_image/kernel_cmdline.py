# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kernel command lines in boot configurations (private to this collection).

Arguments are appended where a Linux image keeps them: the ``linux`` lines of
its GRUB configurations (``/boot/grub/grub.cfg``, ``/boot/grub2/grub.cfg``,
ESP copies), ``GRUB_CMDLINE_LINUX`` in ``/etc/default/grub`` (so a later
``update-grub`` keeps them), Boot Loader Specification entries (Fedora family)
and ``/etc/kernel/cmdline`` (systemd-boot, UKIs).
An argument already present is not added twice. Arguments GRUB would split
(``;``, spaces, quotes) are quoted so the kernel receives them intact.
"""

from __future__ import annotations

import os
import re
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import os_errors_as
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._image.chroot import Chroot

GRUB_LINUX_RE: re.Pattern[str] = re.compile(r"^(\s*(?:linux|linuxefi|linux16)\s+\S+)(.*)$")
GRUB_SPECIAL: Set[str] = set(" \t;&|<>$\"'{}\\#")
GRUB_CONFIGS: Tuple[str, ...] = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/efi/EFI/BOOT/grub.cfg")


def grub_quote(arg: str) -> str:
    """Quote ``arg`` for a GRUB script word; plain arguments stay as they are."""
    if not arg or any(c in GRUB_SPECIAL for c in arg):
        return "'" + arg.replace("'", "'\\''") + "'"
    return arg


def grub_words(text: str) -> List[str]:
    """Split a GRUB ``linux`` argument string into the words the kernel receives."""
    words: List[str] = []
    current: List[str] = []
    quote: Optional[str] = None
    escaped = in_word = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            in_word = True
        elif quote == "'":
            if char == "'":
                quote = None
            else:
                current.append(char)
        elif quote == '"':
            if char == '"':
                quote = None
            elif char == "\\":
                escaped = True
            else:
                current.append(char)
        elif char in "'\"":
            quote = char
            in_word = True
        elif char == "\\":
            escaped = True
        elif char in " \t":
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
    if in_word:
        words.append("".join(current))
    return words


def missing_args(existing: Iterable[str], new: Iterable[str]) -> List[str]:
    """The arguments of ``new`` not in ``existing`` (nor repeated), in order."""
    present = set(existing)
    result: List[str] = []
    for arg in new:
        if arg not in present:
            result.append(arg)
            present.add(arg)
    return result


def append_to_grub_cfg(text: str, args: Sequence[str]) -> str:
    """``text`` with ``args`` appended to every linux line that lacks them."""
    lines = []
    for line in text.splitlines(True):
        match = GRUB_LINUX_RE.match(line.rstrip("\n"))
        if match:
            head, rest = match.groups()
            add = missing_args(grub_words(rest), args)
            if add:
                newline = "\n" if line.endswith("\n") else ""
                line = head + rest.rstrip() + " " + " ".join(grub_quote(a) for a in add) + newline
        lines.append(line)
    return "".join(lines)


def grub_cfg_args(text: str) -> List[str]:
    """The kernel arguments of the first linux line of a grub.cfg (kernel path excluded)."""
    for line in text.splitlines():
        match = GRUB_LINUX_RE.match(line)
        if match:
            return grub_words(match.group(2))
    return []


_SHELL_DQ_ESCAPES: Dict[str, str] = {"\\": "\\\\", '"': '\\"', "$": "\\$", "`": "\\`"}


def shell_dq_escape(text: str) -> str:
    """Escape ``text`` for a POSIX shell double-quoted string."""
    return "".join(_SHELL_DQ_ESCAPES.get(char, char) for char in text)


def shell_dq_unescape(text: str) -> str:
    """The value of a POSIX shell double-quoted string's body (its backslash escapes undone)."""
    out: List[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in _SHELL_DQ_ESCAPES:
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def append_to_default_grub(text: str, args: Sequence[str]) -> str:
    """``/etc/default/grub`` with ``args`` added to GRUB_CMDLINE_LINUX (created if absent).

    The file is sourced by a shell, and grub-mkconfig copies the value into the
    ``linux`` lines of grub.cfg: each argument is GRUB-quoted, then the whole
    value escaped for the shell's double quotes.
    """
    def variable(name: str) -> Tuple[Optional[re.Match[str]], List[str]]:
        pattern = re.compile(r'^%s=(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(\S*))[ \t]*$' % name, re.M)
        match = pattern.search(text)
        if not match:
            return None, []
        double, single, bare = match.groups()
        value = shell_dq_unescape(double) if double is not None else (single if single is not None else bare)
        return match, grub_words(value)

    match, current = variable("GRUB_CMDLINE_LINUX")
    add = missing_args(current + variable("GRUB_CMDLINE_LINUX_DEFAULT")[1], args)
    if not add:
        return text
    line = 'GRUB_CMDLINE_LINUX="%s"' % shell_dq_escape(" ".join(grub_quote(a) for a in current + add))
    if match:
        return text[:match.start()] + line + text[match.end():]
    return text + ("" if not text or text.endswith("\n") else "\n") + line + "\n"


def append_to_kernel_cmdline_file(text: str, args: Sequence[str]) -> str:
    """``/etc/kernel/cmdline`` with ``args`` added."""
    current = text.split()
    add = missing_args(current, args)
    return text if not add else " ".join(current + add) + "\n"


def append_to_bls_entry(text: str, args: Sequence[str]) -> str:
    """A Boot Loader Specification entry (/boot/loader/entries/*.conf) with ``args`` on its options line."""
    lines = text.splitlines(True)
    for index, line in enumerate(lines):
        if line.startswith("options ") or line.rstrip("\n") == "options":
            current = line[len("options"):].split()
            add = missing_args(current, args)
            if add:
                lines[index] = "options " + " ".join(current + add) + "\n"
            return "".join(lines)
    return text.rstrip("\n") + ("\n" if text else "") + "options " + " ".join(args) + "\n"


def update_boot_configs(chroot: Chroot, args: Sequence[str]) -> List[str]:
    """Append ``args`` in every boot configuration the image has; return the image paths changed."""
    changed: List[str] = []
    targets: List[Tuple[str, Callable[[str, Sequence[str]], str]]] = [(path, append_to_grub_cfg)
                                                                      for path in GRUB_CONFIGS]
    entries = chroot.path("/boot/loader/entries")
    if os.path.isdir(entries):
        targets += [("/boot/loader/entries/" + name, append_to_bls_entry)
                    for name in sorted(os.listdir(entries)) if name.endswith(".conf")]
    targets += [("/etc/default/grub", append_to_default_grub), ("/etc/kernel/cmdline", append_to_kernel_cmdline_file)]
    for image_path, edit in targets:
        host_path = chroot.path(image_path)
        if not os.path.isfile(host_path):
            continue
        with os_errors_as("add kernel arguments to %s in the image" % image_path, host_path):
            with open(host_path) as handle:
                text = handle.read()
            new = edit(text, list(args))
            if new != text:
                atomic_write(host_path, new, os.stat(host_path).st_mode & 0o7777, fsync=False)
                changed.append(image_path)
    return changed


# ---------------------------------------------------------------- replacing arguments by name (os.selinux)

def _named(arg: str, names: Iterable[str]) -> bool:
    """Is ``arg`` one of the arguments called ``names`` (``name`` or ``name=value``)?"""
    return arg.split("=", 1)[0] in set(names)


def remove_from_grub_cfg(text: str, names: Sequence[str]) -> str:
    """``text`` without the arguments called ``names`` on its linux lines."""
    lines = []
    for line in text.splitlines(True):
        match = GRUB_LINUX_RE.match(line.rstrip("\n"))
        if match:
            head, rest = match.groups()
            words = grub_words(rest)
            kept = [word for word in words if not _named(word, names)]
            if kept != words:
                newline = "\n" if line.endswith("\n") else ""
                line = head + "".join(" " + grub_quote(word) for word in kept) + newline
        lines.append(line)
    return "".join(lines)


def remove_from_default_grub(text: str, names: Sequence[str]) -> str:
    """``/etc/default/grub`` without the arguments called ``names`` in GRUB_CMDLINE_LINUX(_DEFAULT)."""
    for variable in ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"):
        pattern = re.compile(r'^%s=(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(\S*))[ \t]*$' % variable, re.M)
        match = pattern.search(text)
        if not match:
            continue
        double, single, bare = match.groups()
        value = shell_dq_unescape(double) if double is not None else (single if single is not None else bare)
        words = grub_words(value)
        kept = [word for word in words if not _named(word, names)]
        if kept != words:
            line = '%s="%s"' % (variable, shell_dq_escape(" ".join(grub_quote(word) for word in kept)))
            text = text[:match.start()] + line + text[match.end():]
    return text


def remove_from_kernel_cmdline_file(text: str, names: Sequence[str]) -> str:
    words = text.split()
    kept = [word for word in words if not _named(word, names)]
    return text if kept == words else " ".join(kept) + "\n"


def remove_from_bls_entry(text: str, names: Sequence[str]) -> str:
    lines = text.splitlines(True)
    for index, line in enumerate(lines):
        if line.startswith("options ") or line.rstrip("\n") == "options":
            words = line[len("options"):].split()
            kept = [word for word in words if not _named(word, names)]
            if kept != words:
                lines[index] = " ".join(["options"] + kept) + "\n"
    return "".join(lines)


def replace_boot_args(chroot: Chroot, names: Sequence[str], args: Sequence[str]) -> List[str]:
    """In every boot configuration the image has, drop the arguments called ``names`` and append ``args``
    (the reference's way with the SELinux arguments); return the image paths changed."""
    removers: Dict[str, Callable[[str, Sequence[str]], str]] = {}
    for path in GRUB_CONFIGS:
        removers[path] = remove_from_grub_cfg
    entries = chroot.path("/boot/loader/entries")
    if os.path.isdir(entries):
        for name in sorted(os.listdir(entries)):
            if name.endswith(".conf"):
                removers["/boot/loader/entries/" + name] = remove_from_bls_entry
    removers["/etc/default/grub"] = remove_from_default_grub
    removers["/etc/kernel/cmdline"] = remove_from_kernel_cmdline_file
    changed: List[str] = []
    for image_path, remove in removers.items():
        host_path = chroot.path(image_path)
        if not os.path.isfile(host_path):
            continue
        with os_errors_as("replace kernel arguments in %s in the image" % image_path, host_path):
            with open(host_path) as handle:
                text = handle.read()
            new = remove(text, names)
            if new != text:
                atomic_write(host_path, new, os.stat(host_path).st_mode & 0o7777, fsync=False)
                changed.append(image_path)
    return sorted(set(changed) | set(update_boot_configs(chroot, args)))
