# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of the library's string enums (private to this collection).

A :class:`StrEnum` member is a ``str`` equal to its value, so functions that take a member also take the
old string (``MountMode("ro")`` is ``MountMode.RO``), and a member prints, formats and serialises (JSON,
Ansible results) as its value. The enums themselves live in the file that owns each concept.
"""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """``str`` and ``Enum``: equal to, printed and formatted as its value (on every Python version)."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(str.__str__(self), format_spec)
