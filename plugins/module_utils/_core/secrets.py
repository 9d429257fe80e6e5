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


def register_secret(value: object) -> None:
    """Mask ``value`` wherever this library logs or reports text."""
    if value and isinstance(value, str) and len(value) >= 4:
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
