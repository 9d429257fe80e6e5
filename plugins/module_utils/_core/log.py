# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The library's logger (private to this collection): every command and step goes to the build log."""

from __future__ import annotations

import logging

LOG: logging.Logger = logging.getLogger("liveiso.customizer")
