# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The secret registry (private to this collection): values registered here (passwords, keys) are
masked as ``********`` wherever the library logs or reports text, and handed to Ansible's ``no_log_values``.
"""

from __future__ import annotations

from typing import Optional, Set, overload

_SECRETS: Set[str] = set()
PLAIN_WORDS: "frozenset[str]" = frozenset((
    "true", "false", "yes", "no", "on", "off", "null", "none", "~", "y", "n",  # YAML 1.1 booleans and null
    "random",  # chpasswd's keyword for "make one up"
))
"""Words no secret is: a value such as ``lock_passwd: false`` is a flag, and masking ``false`` everywhere would
turn ``dhcp4: false`` into ``dhcp4: ********`` in every result and diff."""


def is_plain_word(value: str) -> bool:
    """Is ``value`` (stripped, any case, quoted or not) one of :data:`PLAIN_WORDS`?"""
    return value.strip().strip("'\"").strip().lower() in PLAIN_WORDS


def register_secret(value: object) -> None:
    """Mask ``value`` wherever this library logs or reports text (not plain words: see :data:`PLAIN_WORDS`)."""
    if value and isinstance(value, str) and len(value) >= 4 and not is_plain_word(value):
        _SECRETS.add(value)


@overload
def redact(text: str) -> str:
    ...


@overload
def redact(text: None) -> None:
    ...


def redact(text: Optional[str]) -> Optional[str]:
    """Replace every registered secret in ``text`` with ``********``."""
    if not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def registered() -> "frozenset[str]":
    """The values registered so far (for Ansible's ``no_log_values``)."""
    return frozenset(_SECRETS)
