# SPDX-License-Identifier: GPL-3.0-or-later
"""errors.py: the error family, and user-caused OSErrors turned into CustomizerErrors that say what to do."""

import errno
import os

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CustomizerError,
    FileAccessError,
    HostError,
    NoSpaceError,
    is_user_os_error,
    os_errors_as,
    user_os_error,
)


def test_message_and_hint():
    err = CustomizerError("no root filesystem", "Use a Linux image.")
    assert str(err) == "no root filesystem. Use a Linux image."
    assert CustomizerError("done.").message == "done." and str(CustomizerError("x")) == "x"


@pytest.mark.parametrize("code,meaning,advice", [
    (errno.EISDIR, "it is a directory, where a file is expected", "Give the path of a file"),
    (errno.EACCES, "permission denied", "Check the permissions"),
    (errno.ENOENT, "it does not exist", "Check the path."),
    (errno.ENOTDIR, "a part of its path is not a directory", "a file stands where a directory is expected"),
    (errno.EROFS, "the filesystem is read-only", "writable filesystem"),
    (errno.ENOSPC, "no space left on the device", "Free space"),
])
def test_user_os_error_keeps_the_meaning(code, meaning, advice):
    exc = OSError(code, os.strerror(code), "/srv/in/file")
    err = user_os_error(exc, "read config.os.additionalFiles[0].source")
    assert isinstance(err, FileAccessError) and isinstance(err, CustomizerError)
    assert err.message == "cannot read config.os.additionalFiles[0].source (/srv/in/file): %s." % meaning
    assert advice in err.hint
    assert (err.path, err.errno) == ("/srv/in/file", code)
    assert is_user_os_error(exc)


def test_no_space_is_a_host_error():
    err = user_os_error(OSError(errno.ENOSPC, "No space left on device", "/out/x.iso"), "write the output")
    assert isinstance(err, NoSpaceError) and isinstance(err, HostError)
    err = user_os_error(OSError(errno.EDQUOT, "Disk quota exceeded"), "write the output")
    assert isinstance(err, NoSpaceError) and err.path is None
    assert err.message == "cannot write the output: the disk quota is exceeded."
    assert not isinstance(user_os_error(OSError(errno.EACCES, "x"), "y"), HostError)


def test_path_and_hint_given():
    err = user_os_error(OSError(errno.EACCES, "Permission denied", "/tmp/x.12345"), "write the stamp",
                        path="/out/x.iso.liveiso.json", hint="Make the output directory writable.")
    assert str(err) == ("cannot write the stamp (/out/x.iso.liveiso.json): permission denied. "
                        "Make the output directory writable.")


def test_unknown_errno_names_its_strerror():
    exc = OSError(errno.EIO, "Input/output error", "/dev/loop3")
    assert not is_user_os_error(exc)
    err = user_os_error(exc, "read the image")
    assert err.message == "cannot read the image (/dev/loop3): Input/output error." and err.hint is None


def test_os_errors_as_real_errors(tmp_path):
    with pytest.raises(FileAccessError) as info:
        with os_errors_as("read the script"):
            open(str(tmp_path))  # a directory given where a file is expected
    assert info.value.errno == errno.EISDIR and info.value.path == str(tmp_path)
    assert isinstance(info.value.__cause__, IsADirectoryError)
    with pytest.raises(FileAccessError) as info:
        with os_errors_as("read the script", "scripts/post.sh"):
            open(str(tmp_path / "missing"))
    assert info.value.message == "cannot read the script (scripts/post.sh): it does not exist."
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileAccessError) as info:
        with os_errors_as("create the work directory"):
            os.makedirs(str(tmp_path / "file" / "sub"))
    assert info.value.errno in (errno.ENOTDIR, errno.EEXIST)


def test_os_errors_as_passes_other_errors():
    with pytest.raises(OSError) as info:
        with os_errors_as("read the image"):
            raise OSError(errno.EIO, "Input/output error")
    assert not isinstance(info.value, CustomizerError)
    with pytest.raises(InterruptedError):
        with os_errors_as("copy"):
            raise InterruptedError("copy cancelled")
    with pytest.raises(ValueError):
        with os_errors_as("parse"):
            raise ValueError("not an OSError")
    with os_errors_as("nothing"):
        pass
