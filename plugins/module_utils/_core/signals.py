# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGTERM/SIGINT handling (private to this collection).

:func:`signals_raise` turns the signals into :class:`BuildInterrupted` so that every ``with`` block
unwinds and releases its mounts and loop devices; :func:`signals_held` defers them over a block that must
not be cut in two (the commit point, making or releasing a mount or loop device).
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType, TracebackType
from typing import Any, Callable, Dict, Iterator, Optional, Set, Type, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import BuildInterrupted

_Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into :class:`BuildInterrupted` for the duration of the block."""

    def handler(signum: int, _frame: Optional[FrameType]) -> None:
        raise BuildInterrupted("interrupted by signal %s; all mounts and loop devices were released."
                               % signal.Signals(signum).name)

    previous: Dict[signal.Signals, _Handler] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def signals_held() -> _SignalsHeld:
    """Block SIGTERM/SIGINT for a block that must not be cut in two (they are delivered after it)."""
    return _SignalsHeld()


class _SignalsHeld(object):
    old: Set[int]

    def __enter__(self) -> _SignalsHeld:
        self.old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        return self

    def __exit__(self, _exc_type: Optional[Type[BaseException]], _exc: Optional[BaseException],
                 _traceback: Optional[TracebackType]) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old)
