# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only fault injection (private to this collection): signals sent during or after a named step,
used by tests/integration/test_faults.py (see docs/reliability.md).
"""

from __future__ import annotations

import os
import signal
import threading


def _inject_fault_during(name: str) -> None:
    """Test-only fault injection: ``LIVEISO_TEST_SIGNAL_DURING_STEP=<step>[:<seconds>[:<SIGNAL>]]`` sends
    the signal (default SIGTERM) to this process that many seconds (default 1) after the step starts, while
    its commands run. SIGKILL leaves everything behind, as a real ``kill -9`` does."""
    hook = os.environ.get("LIVEISO_TEST_SIGNAL_DURING_STEP", "")
    parts = hook.split(":")
    if not hook or parts[0] != name:
        return
    delay = float(parts[1]) if len(parts) > 1 and parts[1] else 1.0
    sig: int = getattr(signal, parts[2]) if len(parts) > 2 else signal.SIGTERM
    timer = threading.Timer(delay, os.kill, (os.getpid(), sig))
    timer.daemon = True
    timer.start()
