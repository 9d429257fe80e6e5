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
from typing import Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple

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


def _rewrite_linux_lines(text: str, rewrite: Callable[[str, str], Optional[str]]) -> str:
    """``text`` with each linux line ``head + rest`` replaced by ``rewrite(head, rest)`` (None: kept as it is)."""
    lines = []
    for line in text.splitlines(True):
        match = GRUB_LINUX_RE.match(line.rstrip("\n"))
        if match:
            new = rewrite(*match.groups())
            if new is not None:
                line = new + ("\n" if line.endswith("\n") else "")
        lines.append(line)
    return "".join(lines)


def append_to_grub_cfg(text: str, args: Sequence[str]) -> str:
    """``text`` with ``args`` appended to every linux line that lacks them."""
    def append(head: str, rest: str) -> Optional[str]:
        add = missing_args(grub_words(rest), args)
        return head + rest.rstrip() + " " + " ".join(grub_quote(a) for a in add) if add else None
    return _rewrite_linux_lines(text, append)


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
    def remove(head: str, rest: str) -> Optional[str]:
        words = grub_words(rest)
        kept = [word for word in words if not _named(word, names)]
        return head + "".join(" " + grub_quote(word) for word in kept) if kept != words else None
    return _rewrite_linux_lines(text, remove)


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


# ---------------------------------------------------------------- reading: the image's kernel line, resolved
#
# GRUB expands variables on a ``linux`` line when the entry boots, after the whole grub.cfg has run: ``set``
# lines, ``load_env`` (the grubenv block), ``if [ ... ]`` tests. Azure Linux 2/3 and older Fedora put
# ``$kernelopts`` (from grubenv), ``$mariner_cmdline`` and ``$systemd_cmdline`` (from load_env files) there;
# Boot Loader Specification images (``blscfg``) take the entry's ``options`` line, expanded the same way.

GRUBENV_SIGNATURE: str = "# GRUB Environment Block\n"
GRUBENV_SIZE: int = 1024  # grub-editenv writes the block padded with '#' to this size
GRUB_VAR_RE: re.Pattern[str] = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#*@])\}"
                                          r"|([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[?#*@]))")
GRUB_CFG_CANDIDATES: Tuple[str, ...] = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
BLS_DIR: str = "/boot/loader/entries"
LINUX_COMMANDS: Tuple[str, ...] = ("linux", "linuxefi", "linux16")
RawWord = List[Tuple[str, str]]  # segments: ("lit", text) quoted or escaped, ("dq", text) expanded, ("bare", ...)
Statement = List[RawWord]


def parse_grubenv(data: bytes) -> Optional[Dict[str, str]]:
    """The variables of a GRUB environment block (grub-editenv's format), or None when ``data`` is not one.

    After the signature line come ``name=value`` lines (a backslash escapes the next character, newlines
    included), then ``#`` padding to :data:`GRUBENV_SIZE` bytes.
    """
    text = data.decode("utf-8", "replace")
    if not text.startswith(GRUBENV_SIGNATURE):
        return None
    return _env_lines(text[len(GRUBENV_SIGNATURE):])


def _env_lines(text: str) -> Dict[str, str]:
    """``name=value`` lines with GRUB's envblk escapes; ``#`` lines (comments, padding) skipped."""
    env: Dict[str, str] = {}
    index = 0
    while index < len(text):
        end = text.find("\n", index)
        if text[index] == "#" or "=" not in text[index:end if end >= 0 else len(text)]:
            index = len(text) if end < 0 else end + 1
            continue
        equals = text.index("=", index)
        name, value, index = text[index:equals].strip(), [], equals + 1
        while index < len(text) and text[index] != "\n":
            if text[index] == "\\" and index + 1 < len(text):
                index += 1
            value.append(text[index])
            index += 1
        env[name] = "".join(value)
        index += 1
    return env


def read_env_file(data: bytes) -> Dict[str, str]:
    """A file ``load_env`` reads: a GRUB environment block, or plain ``name=value`` lines (Azure Linux's
    ``/boot/mariner.cfg`` and ``systemd.cfg`` are written without the signature)."""
    env = parse_grubenv(data)
    return env if env is not None else _env_lines(data.decode("utf-8", "replace"))


def grub_statements(text: str) -> List[Statement]:
    """GRUB script ``text`` as statements (split at unquoted newlines and ``;``) of unexpanded words."""
    statements: List[Statement] = []
    words: Statement = []
    word: Optional[RawWord] = None
    index = 0

    def segment(kind: str, value: str) -> None:
        nonlocal word
        word = (word or []) + [(kind, value)]

    while index < len(text):
        char = text[index]
        if char in " \t\r\n;":
            if word is not None:
                words.append(word)
                word = None
            if char in "\n;" and words:
                statements.append(words)
                words = []
        elif char == "#" and word is None:
            end = text.find("\n", index)
            index = len(text) - 1 if end < 0 else end - 1
        elif char == "\\":
            if index + 1 < len(text) and text[index + 1] != "\n":
                segment("lit", text[index + 1])
            index += 1
        elif char == "'":
            end = text.find("'", index + 1)
            end = len(text) if end < 0 else end
            segment("lit", text[index + 1:end])
            index = end
        elif char == '"':
            index = _double_quoted(text, index + 1, segment)
        else:
            segment("bare", char)
        index += 1
    if word is not None:
        words.append(word)
    if words:
        statements.append(words)
    return statements


def _double_quoted(text: str, index: int, segment: Callable[[str, str], None]) -> int:
    """Segments of the double-quoted string starting at ``index``; the index of its closing quote."""
    segment("dq", "")  # "" is a word even when empty
    while index < len(text) and text[index] != '"':
        if text[index] == "\\" and index + 1 < len(text) and text[index + 1] in '$"\\\n':
            if text[index + 1] != "\n":
                segment("lit", text[index + 1])
            index += 2
            continue
        segment("dq", text[index])
        index += 1
    return index


def _substitute(text: str, env: Mapping[str, str], used: Set[str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        used.add(name)
        return env.get(name, "")
    return GRUB_VAR_RE.sub(value, text)


def expand_word(word: RawWord, env: Mapping[str, str], used: Optional[Set[str]] = None) -> List[str]:
    """The words GRUB makes of ``word``: variables expanded, unquoted values split at blanks."""
    seen: Set[str] = set() if used is None else used
    fields: List[str] = []
    current: Optional[str] = None
    for kind, text in _merged(word):
        if kind != "bare":
            current = (current or "") + (text if kind == "lit" else _substitute(text, env, seen))
            continue
        position = 0
        for match in GRUB_VAR_RE.finditer(text):
            if match.start() > position:
                current = (current or "") + text[position:match.start()]
            position = match.end()
            parts = re.split(r"[ \t\n]+", _substitute(match.group(0), env, seen))
            if parts[0]:
                current = (current or "") + parts[0]
            for part in parts[1:]:
                if current is not None:
                    fields.append(current)
                current = part or None
        if position < len(text):
            current = (current or "") + text[position:]
    if current is not None:
        fields.append(current)
    return fields


def _merged(word: RawWord) -> List[Tuple[str, str]]:
    """Adjacent segments of one kind joined (``$name`` spans several characters)."""
    merged: List[Tuple[str, str]] = []
    for kind, text in word:
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    return merged


class _Script(object):
    """One run of a grub.cfg as GRUB would run it, for its kernel line: variables, tests, entries."""

    def __init__(self, chroot: Chroot, prefix: str) -> None:
        self.chroot = chroot
        self.env: Dict[str, str] = {"prefix": prefix}
        self.entries: List[List[Statement]] = []  # the menuentry bodies, in order
        self.bls = False  # the script ran ``blscfg``
        self.used: Set[str] = set()  # variables the kernel line referenced

    def words(self, statement: Statement, env: Optional[Mapping[str, str]] = None) -> List[str]:
        return [w for raw in statement for w in expand_word(raw, self.env if env is None else env, self.used)]

    def file(self, path: str) -> Optional[str]:
        """The host path of the file a GRUB path names (its device dropped; a separate /boot tried too)."""
        path = re.sub(r"^\([^)]*\)", "", path)
        path = "/" + path.lstrip("/")
        for candidate in (path, "/boot" + path):
            host = self.chroot.path(candidate)
            if os.path.lexists(host):
                return host
        return None

    def test(self, args: List[str]) -> bool:
        """GRUB's ``[ ... ]`` / ``test`` on the image; a condition it cannot tell (a command) is false."""
        if args[:1] == ["["] and args[-1:] == ["]"]:
            args = args[1:-1]
        elif args[:1] == ["test"]:
            args = args[1:]
        else:
            return False
        if args[:1] == ["!"]:
            return not self.test(["test"] + args[1:])
        if len(args) == 1:
            return args[0] != ""
        if len(args) == 2 and args[0] in ("-z", "-n"):
            return (args[1] == "") == (args[0] == "-z")
        if len(args) == 2 and args[0] in ("-e", "-f", "-d", "-s"):
            host = self.file(args[1])
            checks: Dict[str, Callable[[str], bool]] = {
                "-e": os.path.exists, "-f": os.path.isfile, "-d": os.path.isdir,
                "-s": lambda p: os.path.isfile(p) and os.path.getsize(p) > 0}
            return bool(host) and checks[args[0]](host or "")
        if len(args) == 3 and args[1] in ("=", "==", "!="):
            return (args[0] == args[2]) == (args[1] != "!=")
        return False

    def load_env(self, args: List[str], env: Dict[str, str]) -> None:
        path, names, index = self.env.get("prefix", "") + "/grubenv", [], 0
        while index < len(args):
            if args[index] in ("-f", "--file") and index + 1 < len(args):
                path, index = args[index + 1], index + 1
            elif args[index].startswith("--file="):
                path = args[index][len("--file="):]
            elif not args[index].startswith("-"):
                names.append(args[index])
            index += 1
        host = self.file(path)
        if host and os.path.isfile(host):
            with os_errors_as("read the GRUB environment file %s in the image" % path, host), \
                    open(host, "rb") as handle:
                loaded = read_env_file(handle.read(64 * 1024))
            env.update((k, v) for k, v in loaded.items() if not names or k in names)

    def run(self, statements: Sequence[Statement], env: Dict[str, str]) -> Optional[List[str]]:
        """Run ``statements`` with ``env``; the arguments of the first ``linux`` line that runs, if any."""
        frames: List[Tuple[bool, bool]] = []  # (this branch runs, a branch of this if ran)
        pending = list(statements)
        index = 0
        while index < len(pending):
            statement = pending[index]
            index += 1
            head = _literal(statement[0])
            if head in ("then", "do", "else") and len(statement) > 1:  # "then set x=1", "else linux ..."
                pending.insert(index, statement[1:])
                statement = statement[:1]
            if head in ("then", "do"):
                continue
            active = all(frame[0] for frame in frames)
            if head == "if":
                runs = active and self.test(self.words(statement[1:], env))
                frames.append((runs, runs))
            elif head == "elif" and frames:
                outer = all(frame[0] for frame in frames[:-1])
                runs = outer and not frames[-1][1] and self.test(self.words(statement[1:], env))
                frames[-1] = (runs, frames[-1][1] or runs)
            elif head == "else" and frames:
                outer = all(frame[0] for frame in frames[:-1])
                frames[-1] = (outer and not frames[-1][1], True)
            elif head == "fi" and frames:
                frames.pop()
            elif _literal(statement[-1]) == "{":
                body, index = _block(pending, index)
                if active and head == "menuentry":
                    self.entries.append(body)
            elif active:
                args = self._command(head, statement, env)
                if args is not None:
                    return args
        return None

    def _command(self, head: str, statement: Statement, env: Dict[str, str]) -> Optional[List[str]]:
        words = self.words(statement, env)
        if not words:
            return None
        if words[0] == "set" and len(words) > 1 and "=" in words[1]:
            name, value = words[1].split("=", 1)
            env[name] = " ".join([value] + words[2:])
        elif len(words) == 1 and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) and head == words[0]:
            name, value = words[0].split("=", 1)
            env[name] = value
        elif words[0] == "unset":
            for name in words[1:]:
                env.pop(name, None)
        elif words[0] == "load_env":
            self.load_env(words[1:], env)
        elif words[0] == "blscfg":
            self.bls = True
        elif words[0] in LINUX_COMMANDS:
            return words[2:]
        return None


def _literal(word: RawWord) -> str:
    """A word's text as written (quotes removed, nothing expanded): for keywords and braces."""
    return "".join(text for _kind, text in word)


def _block(statements: Sequence[Statement], index: int) -> Tuple[List[Statement], int]:
    """The statements of the ``{ ... }`` block opened just before ``index``, and the index after it."""
    depth = 1
    body: List[Statement] = []
    while index < len(statements):
        words = [_literal(raw) for raw in statements[index]]
        index += 1
        if words == ["}"]:
            depth -= 1
            if depth == 0:
                return body, index
        elif words[-1:] == ["{"]:
            depth += 1
        body.append(statements[index - 1])
    return body, index


class ImageCmdline(NamedTuple):
    """The kernel arguments an image boots with, resolved, and where they were read."""

    args: List[str]
    source: str  # the image path(s) read: "/boot/grub2/grub.cfg", "/boot/loader/entries/x.conf", ...
    undefined: List[str]  # variables the kernel line named that nothing defined (GRUB makes them empty)


def parse_bls_entry(text: str) -> Dict[str, str]:
    """A Boot Loader Specification entry's keys (``options`` lines joined, as the specification says)."""
    keys: Dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split(None, 1)
        if not parts or parts[0].startswith("#"):
            continue
        value = parts[1].strip() if len(parts) > 1 else ""
        keys[parts[0]] = (keys[parts[0]] + " " + value).strip() if parts[0] == "options" and parts[0] in keys \
            else value
    return keys


def _version_key(text: str) -> List[Tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.findall(r"\d+|[^\d.~+-]+", text)]


def bls_entries(chroot: Chroot) -> List[Tuple[str, Dict[str, str]]]:
    """(image path, keys) of the image's BLS entries, newest kernel first (as GRUB's blscfg sorts them)."""
    directory = chroot.path(BLS_DIR)
    if not os.path.isdir(directory):
        return []
    found = []
    for name in sorted(os.listdir(directory)):
        host = os.path.join(directory, name)
        if name.endswith(".conf") and os.path.isfile(host):
            with os_errors_as("read the BLS entry %s/%s in the image" % (BLS_DIR, name), host), open(host) as handle:
                found.append((BLS_DIR + "/" + name, parse_bls_entry(handle.read())))
    return sorted(found, key=lambda entry: _version_key(entry[1].get("version") or os.path.basename(entry[0])),
                  reverse=True)


def _pick_bls(entries: List[Tuple[str, Dict[str, str]]], env: Mapping[str, str],
              kernel_version: Optional[str]) -> Optional[Tuple[str, Dict[str, str]]]:
    """The entry booting ``kernel_version``, else grubenv's ``saved_entry``, else the newest."""
    def entry_id(path: str) -> str:
        return os.path.basename(path)[:-len(".conf")]

    for path, keys in entries:
        if kernel_version and (keys.get("version") == kernel_version
                               or os.path.basename(keys.get("linux", "")) == "vmlinuz-" + kernel_version):
            return path, keys
    for path, keys in entries:
        if env.get("saved_entry") and env.get("saved_entry") == entry_id(path):
            return path, keys
    return entries[0] if entries else None


def _default_grub_args(chroot: Chroot) -> Optional[str]:
    """What grub-mkconfig puts on the linux lines: GRUB_CMDLINE_LINUX, then GRUB_CMDLINE_LINUX_DEFAULT.

    ``$kernelopts`` in those double-quoted shell values is left for GRUB (Azure Linux 2.0 and early 3.0 do
    not escape it, as the reference notes), so each value is read as GRUB script text.
    """
    host = chroot.path("/etc/default/grub")
    if not os.path.isfile(host):
        return None
    with os_errors_as("read /etc/default/grub in the image", host), open(host) as handle:
        text = handle.read()
    values: List[str] = []
    for name in ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"):
        match = re.search(r'^%s=(?:"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(\S*))[ \t]*$' % name, text, re.M)
        if match:
            double, single, bare = match.groups()
            values.append(shell_dq_unescape(double) if double is not None else (single or bare or ""))
    return " ".join(values)


def image_kernel_args(chroot: Chroot, kernel_version: Optional[str] = None) -> Optional[ImageCmdline]:
    """The kernel arguments the image's boot loader gives its kernel, as GRUB would resolve them.

    The first grub.cfg (``/boot/grub``, then ``/boot/grub2``) whose default entry has a ``linux`` line, or
    that runs ``blscfg`` (its BLS entry's ``options``: the one for ``kernel_version``, else grubenv's
    ``saved_entry``, else the newest); else ``/etc/default/grub``'s values. Variables come from the
    script's ``set`` lines, the files its ``load_env`` reads and the image's grubenv. None: nothing found.
    """
    for cfg in GRUB_CFG_CANDIDATES:
        host = chroot.path(cfg)
        if not os.path.isfile(host):
            continue
        with os_errors_as("read %s in the image" % cfg, host), open(host) as handle:
            script = _Script(chroot, os.path.dirname(cfg))
            script.run(grub_statements(handle.read()), script.env)
        resolved = _resolved_entry(script, cfg, kernel_version)
        if resolved is not None:
            return resolved
    fallback = _default_grub_args(chroot)
    if fallback is None:
        return None
    script = _Script(chroot, next((os.path.dirname(c) for c in GRUB_CFG_CANDIDATES[::-1]
                                   if os.path.isdir(chroot.path(os.path.dirname(c)))), "/boot/grub"))
    script.load_env([], script.env)
    statements = grub_statements(fallback)
    return ImageCmdline(script.words(statements[0]) if statements else [],
                        "/etc/default/grub (with %s/grubenv)" % script.env["prefix"], sorted(script.used - set(script.env)))


def _resolved_entry(script: _Script, cfg: str, kernel_version: Optional[str]) -> Optional[ImageCmdline]:
    """The default entry's resolved arguments after ``script`` ran ``cfg``, or None when it has none."""
    script.used = set()  # from here on: the variables of the kernel line only
    if script.bls:
        picked = _pick_bls(bls_entries(script.chroot), script.env, kernel_version)
        if picked is not None:
            statements = grub_statements(picked[1].get("options", ""))
            options = script.words(statements[0]) if statements else []
            return ImageCmdline(options, "%s (blscfg in %s)" % (picked[0], cfg), sorted(script.used - set(script.env)))
    for body in script.entries[:1]:
        env = dict(script.env)
        linux = script.run(body, env)
        if linux is not None:
            return ImageCmdline(linux, cfg, sorted(script.used - set(env)))
    return None
