# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Protocols for objects that families pass to each other (private to this collection).

A lower family (``_image``, ``_live``) takes what a higher one (``_build``) makes by what it does, not by
its class, so it imports nothing from above.
"""

from __future__ import annotations

from typing import ContextManager, Protocol


class StepTimer(Protocol):
    """What runs named, timed steps: ``with build.step("install-packages"): ...`` (``_build.build.Build``)."""

    def step(self, name: str) -> ContextManager[None]:
        ...
