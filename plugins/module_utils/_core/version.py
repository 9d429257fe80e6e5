# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection version, part of every build's input digest (private to this collection).

Kept equal to galaxy.yml's version (a unit test checks it).
"""

COLLECTION_VERSION: str = "0.1.0"
