# SPDX-License-Identifier: GPL-3.0-or-later
"""module_glue.run_module: each module's handler, and errors reported once (ours, a user's OSError, a bug)."""

import errno
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import register_secret


class Failed(Exception):
    pass


class FakeModule(object):
    def __init__(self):
        self.no_log_values = set()
        self.warnings = []
        self.exited = None

    def fail_json(self, **kwargs):
        raise Failed(kwargs)

    def exit_json(self, **kwargs):
        self.exited = kwargs

    def warn(self, text):
        self.warnings.append(text)


def failure(handler):
    module = FakeModule()
    with pytest.raises(Failed) as info:
        module_glue.run_module(module, handler)
    return info.value.args[0], module


def test_our_errors_keep_their_message_and_kind():
    def handler(module):
        raise ConfigError("config.os.hostname", "is not a valid hostname")
    result = failure(handler)[0]
    assert result["error"] == "ConfigError" and "config.os.hostname" in result["msg"]


@pytest.mark.parametrize("code, words, kind", [
    (errno.EISDIR, "it is a directory, where a file is expected", "FileAccessError"),
    (errno.EACCES, "permission denied", "FileAccessError"),
    (errno.ENOENT, "it does not exist", "FileAccessError"),
    (errno.ENOTDIR, "a part of its path is not a directory", "FileAccessError"),
    (errno.ENOSPC, "no space left", "NoSpaceError"),
])
def test_os_errors_a_user_caused_name_the_path_and_what_to_do(code, words, kind):
    def handler(module):
        raise OSError(code, os.strerror(code), "/srv/out/site.iso")
    result = failure(handler)[0]
    assert result["error"] == kind
    assert result["msg"].startswith("cannot use a file (/srv/out/site.iso): %s" % words), result["msg"]
    assert "internal error" not in result["msg"] and "exception" not in result


def test_a_real_open_of_a_directory_is_a_user_error(tmp_path):
    def handler(module):
        with open(str(tmp_path)) as handle:  # what "a directory given as a file" does
            handle.read()
    result = failure(handler)[0]
    assert result["msg"].startswith("cannot use a file (%s): it is a directory" % tmp_path)


def test_other_errors_are_internal_with_the_trace_and_secrets_masked():
    register_secret("hunter2-secret")

    def handler(module):
        raise RuntimeError("boom with hunter2-secret")
    result, module = failure(handler)
    assert result["msg"] == "internal error in liveiso.customizer.handler: boom with ********"
    assert "hunter2-secret" not in result["exception"] and "Traceback" in result["exception"]
    assert "hunter2-secret" in module.no_log_values
    # an OSError that is not the user's (EBADF: our bug) is internal too

    def bug(module):
        raise OSError(errno.EBADF, "Bad file descriptor")
    result = failure(bug)[0]
    assert result["msg"].startswith("internal error")


def test_success_exits_with_the_result_and_warns_of_recovery():
    module = FakeModule()
    module_glue.run_module(module, lambda m: {"changed": True, "notes": [
        "released what a killed build left in /srv: 1 mount", "mounted: /dev/loop0"]})
    assert module.exited["changed"] is True
    assert module.warnings == ["released what a killed build left in /srv: 1 mount"]


def test_every_module_passes_its_own_handler():
    here = os.path.dirname(os.path.abspath(module_glue.__file__))
    for name in ("image_customize", "liveos_iso", "cloudinit_seed"):
        with open(os.path.join(here, "..", "modules", name + ".py")) as handle:
            assert "run_module(module, module_glue.%s)" % name in handle.read()
        assert callable(getattr(module_glue, name))
    assert not hasattr(module_glue, "HANDLERS")
