# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error family for the library (private to this collection).

Every error a user can meet is a :class:`CustomizerError` whose message is a
one-line cause followed by what to do about it. The library raises; the module
glue catches ``CustomizerError`` once and turns it into ``fail_json``.
"""

from __future__ import annotations


class CustomizerError(Exception):
    """Base class: ``str(err)`` is the message shown to the user."""

    def __init__(self, message, hint=None):
        self.message = message
        self.hint = hint
        if hint and not message.endswith((".", "!", "?", ":")):
            message += "."
        super().__init__(message if not hint else "%s %s" % (message, hint))


class ConfigError(CustomizerError):
    """Invalid configuration; ``path`` is the full key path, e.g. ``config.os.hostname``."""

    def __init__(self, path, message, hint=None):
        self.path = path
        super().__init__("%s: %s" % (path, message), hint)


class HostError(CustomizerError):
    """The build host lacks something: root, a tool, loop devices, disk space."""


class ImageError(CustomizerError):
    """The input image cannot be read, or holds no usable Linux system."""


class CommandError(CustomizerError):
    """An external command failed. Carries argv, exit code and output tail."""

    def __init__(self, argv, returncode, output_tail, what=None):
        self.argv = list(argv)
        self.returncode = returncode
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
