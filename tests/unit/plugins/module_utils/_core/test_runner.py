# SPDX-License-Identifier: GPL-3.0-or-later
"""runner.py: the only way the library starts a process."""

import importlib
import os
import signal
import time

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._core import runner, secrets, tools
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError

# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])


def test_run_success_captures_output():
    result = runner.run(["sh", "-c", "echo out; echo err >&2"])
    assert result.returncode == 0
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.argv == ["sh", "-c", "echo out; echo err >&2"]
    assert result.seconds >= 0


def test_run_stringifies_argv():
    result = runner.run(["sh", "-c", 'echo "$1"', "sh", 42])
    assert result.stdout == "42\n"


def test_run_failure_raises_command_error():
    script = "for i in $(seq 1 30); do echo line$i >&2; done; exit 7"
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", script])
    err = info.value
    assert err.argv == ["sh", "-c", script]
    assert err.returncode == 7
    assert err.output_tail == " | ".join("line%d" % i for i in range(11, 31))  # last 20 lines
    assert str(err).startswith("command `sh -c %s` failed with exit code 7: line11 | " % script)


def test_run_false():
    with pytest.raises(CommandError) as info:
        runner.run(["false"])
    assert info.value.returncode == 1
    assert info.value.output_tail == ""
    assert str(info.value) == "command `false` failed with exit code 1"


def test_run_failure_tail_lines_and_stdout_fallback():
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "echo a; echo; echo b; echo c; exit 3"], tail_lines=2)
    assert info.value.output_tail == "b | c"  # stdout used when stderr is empty; blank lines dropped


def test_run_failure_with_what():
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "echo boom >&2; exit 2"], what="doing the thing")
    assert str(info.value) == "doing the thing failed with exit code 2: boom"


def test_long_command_is_shortened_in_message():
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "exit 4", "x" * 500])
    message = str(info.value)
    assert message.startswith("command `sh -c exit 4 xxx")
    assert "x" * 300 not in message
    assert "...` failed with exit code 4" in message
    assert len(info.value.argv[3]) == 500  # argv itself is complete


def test_check_false_returns_code():
    result = runner.run(["sh", "-c", "echo partial; exit 5"], check=False)
    assert result.returncode == 5
    assert result.stdout == "partial\n"


def test_merge_output():
    result = runner.run(["sh", "-c", "echo one; echo two >&2; echo three"], merge_output=True)
    assert result.stdout == "one\ntwo\nthree\n"
    assert result.stderr == ""


def test_stdin_closed_and_input():
    assert runner.run(["cat"], timeout=10).stdout == ""
    assert runner.run(["cat"], input="hello\n").stdout == "hello\n"
    assert runner.run(["cat"], input=b"\x00bin").stdout == "\x00bin"


def test_child_env_is_clean(monkeypatch):
    monkeypatch.setenv("LIVEISO_LEAK_CHECK", "leaked")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    monkeypatch.setenv("TMPDIR", "/var/tmp")
    out = runner.run(["sh", "-c", 'printf "%s|%s|%s|%s|%s" "$LC_ALL" "$LANG" "$LIVEISO_LEAK_CHECK" "$TMPDIR" "$HOME"'])
    assert out.stdout == "C|C||/var/tmp|/root"
    env = runner.clean_env({"EXTRA": "1"})
    assert env["LC_ALL"] == "C" and env["EXTRA"] == "1"
    assert env["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_explicit_env_and_cwd(tmp_path):
    out = runner.run(["/bin/sh", "-c", 'printf "%s %s" "$FOO" "$PWD"'], env={"FOO": "bar"}, cwd=str(tmp_path))
    assert out.stdout == "bar %s" % tmp_path


def test_timeout():
    with pytest.raises(CommandError) as info:
        runner.run(["sleep", "5"], timeout=0.2)
    assert info.value.returncode == "timeout"
    assert "no result after 0.2 seconds" in str(info.value)


def test_redact_masks_secrets_in_command_errors():
    secret = "Runner-Secret-4711"
    secrets.register_secret(secret)
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", 'echo "login with $1 failed" >&2; exit 9', "sh", "user:" + secret])
    err = info.value
    assert secret not in str(err)
    assert secret not in " ".join(err.argv)
    assert err.argv[-1] == "user:********"
    assert err.output_tail == "login with user:******** failed"
    assert "exit code 9" in str(err)


def test_register_secret_rules():
    secrets.register_secret("abc")     # too short to mask safely
    secrets.register_secret(None)
    secrets.register_secret(12345678)
    assert secrets.redact("abc 12345678") == "abc 12345678"
    assert secrets.redact("") == "" and secrets.redact(None) is None
    secrets.register_secret("Long-Secret-Outer-0001")
    secrets.register_secret("Secret-Outer")
    # longest first: the long one is masked whole
    assert secrets.redact("x Long-Secret-Outer-0001 y") == "x ******** y"


def test_tail():
    assert runner.tail("a\n\n b \nc\n", 2) == " b | c"
    assert runner.tail("") == ""
    assert runner.tail(None) == ""


def test_require_tools_present():
    runner.require_tools("sh", "cat")


def test_require_tools_missing_names_debian_packages(monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setattr(runner, "clean_env", lambda extra=None: {"PATH": str(empty)})
    with pytest.raises(HostError) as info:
        runner.require_tools("mcopy", "sfdisk", "qemu-img", "mformat", "liveiso-no-such-tool")
    err = info.value
    assert err.message == "missing host tool(s): mcopy, sfdisk, qemu-img, mformat, liveiso-no-such-tool."
    assert err.hint == "Install them with: apt-get install fdisk liveiso-no-such-tool mtools qemu-utils"


def test_require_tools_uses_the_tool_table(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "clean_env", lambda extra=None: {"PATH": str(tmp_path)})
    for tool in tools.HOST_TOOLS:
        if tool.is_file:
            continue
        with pytest.raises(HostError) as info:
            runner.require_tools(tool.name)
        assert str(info.value).endswith("apt-get install %s" % tool.debian)
        assert "missing host tool(s): %s." % tool.name in str(info.value)


def test_require_tools_checks_host_files(tmp_path):
    present = tmp_path / "boot_hybrid.img"
    present.write_bytes(b"mbr")
    runner.require_tools(str(present), "sh")
    with pytest.raises(HostError) as info:
        runner.require_tools(str(tmp_path / "missing.img"))
    assert "missing host tool(s): %s." % (tmp_path / "missing.img") in str(info.value)


def test_pipeline_tool_sets():
    disk = tools.needed_by("image_customize")
    live = tools.needed_by(tools.Pipeline.LIVEOS_ISO)
    for common in ("qemu-img", "sfdisk", "blkid", "losetup", "mount", "umount", "chroot", "cp", "mcopy", "mdir"):
        assert common in disk and common in live
    assert {"mksquashfs", "xorriso", "grub-mkimage", "mkfs.vfat", "mmd"} <= set(live)
    assert not {"mksquashfs", "xorriso", "grub-mkimage", "mkfs.vfat"} & set(disk)
    assert {"mdel", "mdeltree", "mmd"} <= set(disk)  # the mtools write-back of a FAT partition
    assert not any(name.startswith("/") for name in disk + live)  # GRUB's files are checked per boot mode
    with pytest.raises(ValueError):
        tools.needed_by("cloudinit_seed")


def test_tool_table_names_are_unique():
    names = [tool.name for tool in tools.HOST_TOOLS]
    assert len(names) == len(set(names))
    assert tools.debian_package("xorriso") == "xorriso" and tools.debian_package("sfdisk") == "fdisk"
    assert tools.debian_package(tools.BOOT_HYBRID_IMG) == "grub-pc-bin"
    assert tools.debian_package("liveiso-no-such") == "liveiso-no-such"


def _bindep():
    """{package: set of its bindep profiles} from the collection's bindep.txt."""
    path = os.path.join(REPO, "bindep.txt")
    found = {}
    with open(path) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            name, _sep, rest = line.partition(" ")
            found[name] = set(rest.strip().strip("[]").split())
    return found


def test_bindep_lists_every_package_of_the_tool_table():
    bindep = _bindep()
    for tool in tools.HOST_TOOLS:
        assert tool.debian in bindep, "bindep.txt lacks %s (Debian package of %s)" % (tool.debian, tool.name)
        assert "platform:dpkg" in bindep[tool.debian], tool.name
        if tool.fedora is not None:
            assert tool.fedora in bindep, "bindep.txt lacks %s (Fedora package of %s)" % (tool.fedora, tool.name)
            assert "platform:rpm" in bindep[tool.fedora], tool.name


def test_run_missing_tool_is_host_error():
    with pytest.raises(HostError) as info:
        runner.run(["liveiso-definitely-missing-tool", "--version"])
    assert "missing host tool(s): liveiso-definitely-missing-tool." in str(info.value)
    assert "apt-get install liveiso-definitely-missing-tool" in str(info.value)


def test_run_logs_redacted(caplog):
    secret = "Logged-Secret-8888"
    secrets.register_secret(secret)
    caplog.set_level("DEBUG", logger="liveiso.customizer")
    runner.run(["sh", "-c", 'echo "$1"', "sh", secret])
    assert caplog.records, "run() logs the command"
    assert secret not in caplog.text
    assert "********" in caplog.text


def test_is_mounted(tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._image.mounts import is_mounted
    assert is_mounted("/proc") is True
    assert is_mounted(str(tmp_path)) is False


def test_timeout_stops_the_whole_process_group(tmp_path):
    """A timed-out (or interrupted) command's children die with it: nothing keeps an image mount busy."""
    pidfile = tmp_path / "child.pid"
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "sleep 300 & echo $! > %s; wait" % pidfile], timeout=1)
    assert "no result after 1 seconds" in str(info.value)
    child = int(pidfile.read_text())
    for dummy in range(50):
        if not os.path.exists("/proc/%d" % child) or open("/proc/%d/stat" % child).read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the background child %d of the timed-out command still runs" % child)


def test_interrupt_stops_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "child.pid"

    def interrupt(signum, frame):
        raise KeyboardInterrupt()

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.run(["sh", "-c", "sleep 300 & echo $! > %s; wait" % pidfile])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    child = int(pidfile.read_text())
    time.sleep(0.5)
    assert not os.path.exists("/proc/%d" % child) or open("/proc/%d/stat" % child).read().split()[2] == "Z"


def test_run_extra_env_is_merged_over_the_clean_environment(monkeypatch):
    monkeypatch.setenv("LIVEISO_TEST_HOST_ONLY", "leak")
    out = runner.run(["sh", "-c", 'echo "$LC_ALL/$FOO/${LIVEISO_TEST_HOST_ONLY:-none}"'], extra_env={"FOO": "bar"})
    assert out.stdout.strip() == "C/bar/none"
    out = runner.run(["sh", "-c", 'echo "${LC_ALL:-unset}/$FOO"'], env={"PATH": "/usr/bin:/bin"}, extra_env={"FOO": "x"})
    assert out.stdout.strip() == "unset/x"  # env= replaces the clean environment; extra_env still goes over it


def test_source_date_env():
    assert runner.source_date_env(None) == {}
    assert runner.source_date_env(1700000000) == {"SOURCE_DATE_EPOCH": "1700000000"}


# ---------------------------------------------------------------- started: a command in the background

def test_started_runs_beside_the_block_and_waits():
    import time
    began = time.monotonic()
    with runner.started(["sh", "-c", "sleep 1; echo packed; echo more >&2"]) as job:
        assert time.monotonic() - began < 0.5  # the block runs while the command does
        result = job.wait()
    assert result.returncode == 0 and result.stdout == "packed\nmore\n" and result.seconds >= 0.9


def test_started_failure_raises_command_error_with_tail():
    with runner.started(["sh", "-c", "echo one; echo two; exit 3"], what="the packer") as job:
        with pytest.raises(CommandError) as caught:
            job.wait()
    assert "the packer" in str(caught.value) and "exit code 3" in str(caught.value) and "two" in str(caught.value)


def test_started_job_stopped_when_the_block_fails(tmp_path):
    """An error in the block (SIGTERM turned into an exception, say) stops the job and what it started."""
    marker = tmp_path / "child-pid"
    with pytest.raises(RuntimeError):
        with runner.started(["sh", "-c", "sleep 60 & echo $! > %s; wait" % marker]) as job:
            for _attempt in range(50):
                if marker.exists() and marker.read_text().strip():
                    break
                time.sleep(0.1)
            raise RuntimeError("interrupted")
    assert job.proc.poll() is not None
    child = int(marker.read_text())
    for _attempt in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("the job's child %d still runs" % child)


def test_started_wait_timeout_stops_it():
    with runner.started(["sleep", "30"]) as job:
        with pytest.raises(CommandError) as caught:
            job.wait(timeout=0.5)
        assert job.proc.poll() is not None
    assert "timeout" in str(caught.value)


def test_started_missing_tool_names_the_package():
    with pytest.raises(HostError):
        with runner.started(["mksquashfs-that-is-not-there"]):
            pass
