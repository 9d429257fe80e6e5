# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""user-data (and vendor-data) formats, told apart as cloud-init does (private to this collection).

cloud-init's rules (``cloudinit/user_data.py`` ``convert_string``, ``cloudinit/handlers/__init__.py``
``type_from_starts_with``): the text is MIME when ``mime-version:`` (any case) is in its first 4096 bytes;
otherwise its type is the longest known header that the text, lower-cased and with leading whitespace
stripped, starts with. A MIME part typed ``text/plain`` (or ``text/x-shellscript``) is typed again by its
header; a ``#cloud-config-archive`` is a YAML list of parts, each typed by its ``type`` or by its header, a
part with neither being a cloud-config. ``## template: jinja`` is rendered at boot and the result typed again.
Text cloud-init types as nothing (a UTF-8 byte order mark in front, a MIME text without ``MIME-Version``) is
ignored at boot with a log warning: here it is an error that says why.
"""

from __future__ import annotations

import email
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.common import SeedError, load_yaml
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum

MIME_SNIFF_BYTES: int = 4096  #: cloud-init looks for ``mime-version:`` in this many leading bytes
BOM: str = "\ufeff"
TEMPLATE_MARKERS: Tuple[str, ...] = ("{{", "{%", "{#")
ARCHIVE_DEFAULT_TYPE: str = "text/cloud-config"  #: an archive part with no type and no header
RETYPED: Tuple[str, ...] = ("text/plain", "text/x-not-multipart", "text/x-shellscript")  #: typed by their header
HEADER_HINT: str = "Start it with #cloud-config, a #! script line, or give MIME multipart."
Part = Tuple[str, str, str]
"""(label for messages, content type, payload): one piece of user-data as cloud-init hands it to a handler."""


class UserDataFormat(StrEnum):
    """The user-data formats cloud-init knows, by the header their text starts with (MIME by its header line)."""

    CLOUD_CONFIG = "#cloud-config"
    SCRIPT = "#!"
    INCLUDE = "#include"
    INCLUDE_ONCE = "#include-once"
    BOOTHOOK = "#cloud-boothook"
    PART_HANDLER = "#part-handler"
    CLOUD_CONFIG_ARCHIVE = "#cloud-config-archive"
    CLOUD_CONFIG_JSONP = "#cloud-config-jsonp"
    UPSTART_JOB = "#upstart-job"  #: refused: cloud-init dropped upstart (no handler since 22.x)
    JINJA_TEMPLATE = "## template: jinja"
    MIME_MULTIPART = "MIME-Version:"  #: anywhere in the first 4096 bytes

    @property
    def content_type(self) -> str:
        """The MIME type cloud-init gives text of this format."""
        return _CONTENT_TYPES[self]

    @classmethod
    def of(cls, text: str) -> Optional[UserDataFormat]:
        """The format cloud-init reads ``text`` as; None for text it ignores."""
        if is_mime(text):
            return cls.MIME_MULTIPART
        return cls.from_header(text)

    @classmethod
    def from_header(cls, text: str) -> Optional[UserDataFormat]:
        """``type_from_starts_with``: the longest header the lower-cased, left-stripped text starts with."""
        start = text.lower().lstrip()
        known = [fmt for fmt in cls if fmt is not cls.MIME_MULTIPART and start.startswith(fmt.value.lower())]
        return max(known, key=lambda fmt: len(fmt.value)) if known else None


_CONTENT_TYPES: Dict[UserDataFormat, str] = {
    UserDataFormat.CLOUD_CONFIG: "text/cloud-config",
    UserDataFormat.SCRIPT: "text/x-shellscript",
    UserDataFormat.INCLUDE: "text/x-include-url",
    UserDataFormat.INCLUDE_ONCE: "text/x-include-once-url",
    UserDataFormat.BOOTHOOK: "text/cloud-boothook",
    UserDataFormat.PART_HANDLER: "text/part-handler",
    UserDataFormat.CLOUD_CONFIG_ARCHIVE: "text/cloud-config-archive",
    UserDataFormat.CLOUD_CONFIG_JSONP: "text/cloud-config-jsonp",
    UserDataFormat.UPSTART_JOB: "text/upstart-job",
    UserDataFormat.JINJA_TEMPLATE: "text/jinja2",
    UserDataFormat.MIME_MULTIPART: "multipart/mixed",
}
_BY_TYPE: Dict[str, UserDataFormat] = {ctype: fmt for fmt, ctype in _CONTENT_TYPES.items()}
HANDLED_TYPES: Tuple[str, ...] = tuple(ctype for fmt, ctype in _CONTENT_TYPES.items()
                                       if fmt not in (UserDataFormat.UPSTART_JOB, UserDataFormat.MIME_MULTIPART)) + (
    "text/x-shellscript-per-boot", "text/x-shellscript-per-instance", "text/x-shellscript-per-once",
    "application/gzip", "application/x-gzip", "application/gzip-compressed", "application/x-gzip-compressed")
"""The part types cloud-init 22.4+ has a handler (or an unpacker) for."""


def is_mime(text: str) -> bool:
    """``convert_string``: is ``mime-version:`` in the first 4096 bytes (any case)?"""
    return b"mime-version:" in text.encode("utf-8", "replace")[:MIME_SNIFF_BYTES].lower()


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text.strip() else "(empty)"


def _typed(text: str, name: str, label: str) -> UserDataFormat:
    """The format of ``text`` (a whole file or a part), or the SeedError that says why cloud-init ignores it."""
    if text.startswith(BOM):
        raise SeedError(name, "%sstarts with a UTF-8 byte order mark: cloud-init then reads no header and ignores "
                        "it" % label, line=1 if not label else None, hint="Save it as UTF-8 without a BOM.")
    fmt = UserDataFormat.of(text) if not label else UserDataFormat.from_header(text)
    if fmt is None:
        hint = HEADER_HINT
        if text.lower().lstrip().startswith("content-type:"):
            hint = ("It looks like MIME, but without a MIME-Version header in its first 4096 bytes cloud-init does "
                    "not read it as MIME and ignores it: add 'MIME-Version: 1.0' to its headers.")
        raise SeedError(name, "%sunknown format (first line %r)" % (label, _first_line(text)[:60]),
                        line=1 if not label else None, hint=hint)
    if fmt is UserDataFormat.UPSTART_JOB:
        raise SeedError(name, "%s#upstart-job is no longer read: cloud-init dropped upstart support" % label,
                        hint="Use a #! script, or a systemd unit written by write_files and enabled by runcmd.")
    return fmt


def parts(text: str, name: str, label: str = "") -> Iterator[Part]:
    """The pieces cloud-init hands to its handlers: the text itself, or each MIME / archive part (nested too)."""
    fmt = _typed(text, name, label)
    if fmt is UserDataFormat.MIME_MULTIPART and not label:
        yield from _mime_parts(text, name)
    elif fmt is UserDataFormat.CLOUD_CONFIG_ARCHIVE:
        yield from _archive_parts(text, name, label)
    else:
        yield label, fmt.content_type, text


def _mime_parts(text: str, name: str) -> Iterator[Part]:
    message = email.message_from_string(text)
    index = 0
    for part in message.walk():
        if part.is_multipart():
            continue
        index += 1
        label = "MIME part %d (%s): " % (index, part.get_content_type())
        raw = part.get_payload(decode=True)
        payload = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
        ctype = part.get_content_type()
        if ctype in RETYPED:
            found = UserDataFormat.from_header(payload)
            ctype = found.content_type if found else ctype
        if ctype == UserDataFormat.CLOUD_CONFIG_ARCHIVE.content_type:
            yield from _archive_parts(payload, name, label)
        else:
            yield label, ctype, payload


def _archive_parts(text: str, name: str, label: str) -> Iterator[Part]:
    entries = _load(text, name, label)
    if not isinstance(entries, list):
        raise SeedError(name, "%sa #cloud-config-archive must be a list of parts, got %s"
                        % (label, type(entries).__name__))
    for index, entry in enumerate(entries):
        where = "%sarchive part %d: " % (label, index)
        if isinstance(entry, str):
            entry = {"content": entry}
        if not isinstance(entry, dict):
            raise SeedError(name, "%smust be a string or a mapping with content, got %s"
                            % (where, type(entry).__name__))
        content, ctype = entry.get("content", ""), entry.get("type")
        if not isinstance(content, str):
            raise SeedError(name, "%scontent must be a string, got %s" % (where, type(content).__name__))
        if ctype is None:
            found = UserDataFormat.from_header(content)
            ctype = found.content_type if found else ARCHIVE_DEFAULT_TYPE
        if not isinstance(ctype, str) or "/" not in ctype:
            raise SeedError(name, "%stype must be a MIME type such as text/cloud-config, got %r" % (where, ctype))
        yield "%s (%s): " % (where[:-2], ctype), ctype, content


def _load(text: str, name: str, label: str) -> Any:
    """YAML of a part: its errors name the part, and the line within it."""
    if not label:
        return load_yaml(name, text)
    try:
        return load_yaml(name, text)
    except SeedError as err:
        where = "line %d: " % err.line if err.line else ""
        raise SeedError(name, "%s%s%s" % (label, where, err.detail)) from None


def _cloud_config(text: str, name: str, label: str) -> Dict[str, Any]:
    data = _load(text, name, label)
    if data is not None and not isinstance(data, dict):
        raise SeedError(name, "%sa #cloud-config must be a mapping, got %s" % (label, type(data).__name__))
    return data or {}


def _jsonp(text: str, name: str, label: str) -> None:
    ops = _load(text, name, label)
    if not isinstance(ops, list) or not all(isinstance(op, dict) and "op" in op and "path" in op for op in ops):
        raise SeedError(name, "%sa #cloud-config-jsonp must be a JSON patch: a list of {op, path, ...}" % label)


def _jinja(text: str, name: str, label: str) -> List[Dict[str, Any]]:
    """``## template: jinja``: rendered at boot, then typed again. Without template markers the body is checked
    as what it is; with them only its header (its YAML exists only after rendering)."""
    body = text.lstrip().partition("\n")[2]
    where = label + "after ## template: jinja: "
    if not body.strip():
        raise SeedError(name, "%snothing to render" % where)
    if any(marker in body for marker in TEMPLATE_MARKERS):
        fmt = UserDataFormat.from_header(body)
        if fmt is None or fmt in (UserDataFormat.JINJA_TEMPLATE, UserDataFormat.UPSTART_JOB):
            raise SeedError(name, "%sthe rendered text must start with a header cloud-init has a handler for, "
                            "got %r" % (where, _first_line(body)[:60]), hint=HEADER_HINT)
        return []
    return check_parts(body, name, where)


def check_parts(text: str, name: str, label: str = "") -> List[Dict[str, Any]]:
    """Check ``text`` and every part in it; return the cloud-configs found (their data, for the secret scan)."""
    found: List[Dict[str, Any]] = []
    pieces = list(parts(text, name, label))
    handlers = any(ctype == UserDataFormat.PART_HANDLER.content_type for _label, ctype, _payload in pieces)
    for where, ctype, payload in pieces:
        fmt = _BY_TYPE.get(ctype)
        if fmt is UserDataFormat.CLOUD_CONFIG:
            found.append(_cloud_config(payload, name, where))
        elif fmt is UserDataFormat.CLOUD_CONFIG_JSONP:
            _jsonp(payload, name, where)
        elif fmt is UserDataFormat.JINJA_TEMPLATE:
            found += _jinja(payload, name, where)
        elif fmt is UserDataFormat.UPSTART_JOB:
            _typed(UserDataFormat.UPSTART_JOB.value, name, where)
        elif ctype not in HANDLED_TYPES and not ctype.startswith("multipart/") and not handlers:
            raise SeedError(name, "%scloud-init has no handler for %s and ignores it" % (where, ctype),
                            hint="Use one of: %s (or add a part-handler for it)." % ", ".join(HANDLED_TYPES[:9]))
    return found


def cloud_config_texts(text: str, name: str) -> List[Tuple[str, str]]:
    """[(label, text)] of every cloud-config in ``text`` (the whole file, or MIME / archive parts) that has no
    template markers left: what the image's ``cloud-init schema`` can check. ``text`` must have passed
    :func:`check_parts`."""
    texts: List[Tuple[str, str]] = []
    for where, ctype, payload in parts(text, name):
        if ctype == UserDataFormat.CLOUD_CONFIG.content_type:
            header = UserDataFormat.CLOUD_CONFIG.value  # the schema command wants it exactly, on line 1
            body = payload if payload.startswith(header + "\n") else header + "\n" + payload
            texts.append((where.rstrip(": ") or name, body))
        elif ctype == UserDataFormat.JINJA_TEMPLATE.content_type:
            body = payload.lstrip().partition("\n")[2]
            if not any(marker in body for marker in TEMPLATE_MARKERS):
                texts += [(where + "rendered", rendered) for _w, rendered in cloud_config_texts(body, name)]
    return texts
