# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One error family for the library (private to this collection).

Every error a user can meet is a :class:`CustomizerError` whose message is a
one-line cause followed by what to do about it. The library raises; the module
glue catches ``CustomizerError`` once and turns it into ``fail_json``.

An :class:`OSError` a user caused (a directory given where a file is expected, permission denied, a missing
file, a read-only or full filesystem) becomes a :class:`FileAccessError` through :func:`user_os_error` or
:func:`os_errors_as`, so it never surfaces as an "internal error".
"""

from __future__ import annotations

import contextlib
import errno
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union


class CustomizerError(Exception):
    """Base class: ``str(err)`` is the message shown to the user."""

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        self.message = message
        self.hint = hint
        if hint and not message.endswith((".", "!", "?", ":")):
            message += "."
        super().__init__(message if not hint else "%s %s" % (message, hint))


class ConfigError(CustomizerError):
    """Invalid configuration; ``path`` is the full key path, e.g. ``config.os.hostname``."""

    def __init__(self, path: str, message: str, hint: Optional[str] = None) -> None:
        self.path = path
        super().__init__("%s: %s" % (path, message), hint)


class HostError(CustomizerError):
    """The build host lacks something: root, a tool, loop devices, disk space."""


class ImageError(CustomizerError):
    """The input image cannot be read, or holds no usable Linux system."""


class CommandError(CustomizerError):
    """An external command failed. Carries argv, exit code and output tail."""

    def __init__(self, argv: Sequence[str], returncode: Union[int, str], output_tail: str,
                 what: Optional[str] = None) -> None:
        self.argv = list(argv)
        self.returncode = returncode  # the exit code, or "timeout"
        self.output_tail = output_tail
        cmd = " ".join(self.argv)
        if len(cmd) > 300:
            cmd = cmd[:297] + "..."
        msg = "%s failed with exit code %s" % (what or ("command `%s`" % cmd), returncode)
        if output_tail:
            msg += ": " + output_tail
        super().__init__(msg)


class StepError(CustomizerError):
    """A customization step failed (package install, user creation, ...)."""


class ScriptError(StepError):
    """A user script exited non-zero."""


class BuildInterrupted(CustomizerError):
    """SIGTERM or SIGINT arrived; everything was released on the way out."""


class FileAccessError(CustomizerError):
    """A file or directory cannot be used as asked: missing, of the wrong kind, not permitted, on a read-only
    or full filesystem. ``errno`` is the OSError's (``errno.ENOSPC``: out of space), ``path`` the file's."""

    def __init__(self, message: str, hint: Optional[str], path: Optional[str], error_number: Optional[int]) -> None:
        self.path = path
        self.errno = error_number
        super().__init__(message, hint)


class NoSpaceError(FileAccessError, HostError):
    """No space left (or the disk quota exceeded) where a file was being written."""


# errno -> (what it means, what to do): the OSErrors a user causes and can fix.
USER_OS_ERRORS: Dict[int, Tuple[str, str]] = {
    errno.ENOENT: ("it does not exist", "Check the path."),
    errno.ENOTDIR: ("a part of its path is not a directory",
                    "Check the path: a file stands where a directory is expected."),
    errno.EISDIR: ("it is a directory, where a file is expected",
                   "Give the path of a file, or remove the directory in the way."),
    errno.EACCES: ("permission denied",
                   "Check the permissions of the file and of its parent directories (building images needs "
                   "root: become: true)."),
    errno.EPERM: ("operation not permitted",
                  "Check the file's owner and attributes (chattr), and that the task runs as root (become: true)."),
    errno.EROFS: ("the filesystem is read-only", "Choose a location on a writable filesystem, or remount it."),
    errno.ENOSPC: ("no space left on the device", "Free space on that filesystem, or choose a larger one."),
    errno.EDQUOT: ("the disk quota is exceeded", "Free space within the quota, or choose another filesystem."),
    errno.EEXIST: ("it already exists", "Remove it, or choose another path."),
    errno.ENOTEMPTY: ("the directory is not empty", "Empty or remove it, or choose another path."),
    errno.ELOOP: ("too many levels of symbolic links", "Check the path for a symlink loop."),
    errno.ENAMETOOLONG: ("the name is too long", "Choose a shorter path."),
}
_NO_SPACE: Tuple[int, ...] = (errno.ENOSPC, errno.EDQUOT)


def is_user_os_error(exc: BaseException) -> bool:
    """Is ``exc`` an OSError a user caused and can fix (see :data:`USER_OS_ERRORS`)?"""
    return isinstance(exc, OSError) and exc.errno in USER_OS_ERRORS


def user_os_error(exc: OSError, what: str, path: Optional[str] = None, hint: Optional[str] = None
                  ) -> FileAccessError:
    """The :class:`FileAccessError` (:class:`NoSpaceError` for ENOSPC and EDQUOT) that tells the user what
    ``exc`` means: ``cannot <what> (<path>): <meaning>. <what to do>``.

    ``what`` says what was being done (``"read the script config.scripts.postCustomization[0]"``);
    ``path`` defaults to the OSError's own file name; ``hint`` replaces the standard advice. An OSError
    that is not the user's to fix (see :func:`is_user_os_error`) becomes a :class:`CustomizerError` naming
    its strerror. Raise it ``from exc``.
    """
    path = path if path is not None else (str(exc.filename) if exc.filename is not None else None)
    meaning, advice = USER_OS_ERRORS.get(exc.errno or 0, (exc.strerror or str(exc), ""))
    message = "cannot %s%s: %s." % (what, " (%s)" % path if path else "", meaning)
    cls = NoSpaceError if exc.errno in _NO_SPACE else FileAccessError
    return cls(message, hint or advice or None, path, exc.errno)


@contextlib.contextmanager
def os_errors_as(what: str, path: Optional[str] = None, hint: Optional[str] = None) -> Iterator[None]:
    """``with os_errors_as("read config_file", path):`` a user-caused OSError in the block is raised as
    :func:`user_os_error` says; other OSErrors (a bug, an interrupted call) pass unchanged."""
    try:
        yield
    except OSError as exc:
        if not is_user_os_error(exc):
            raise
        raise user_os_error(exc, what, path, hint) from exc
