# SPDX-License-Identifier: GPL-3.0-or-later
"""build.py and recovery.py: stale builds found and released, output locks, space checks, ENOSPC wording.

No root needed: the stale builds here hold no mounts or loop devices (the integration tests kill real
builds with SIGKILL and check those are released).
"""

import errno
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._build import build, host, lock
from ansible_collections.liveiso.customizer.plugins.module_utils._build import workdir as recovery
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CommandError, HostError


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def stale_workdir(directory, pid, start="", host=None):
    workdir = os.path.join(str(directory), recovery.WORKDIR_PREFIX + "abc%d%s" % (pid, host or ""))
    os.makedirs(os.path.join(workdir, "mnt"))
    with open(os.path.join(workdir, recovery.MARKER), "w") as handle:
        handle.write("%d\n%s\n%s\n/out/x.iso\n" % (pid, start, host or recovery.this_host()))
    with open(os.path.join(workdir, recovery.LEDGER), "w") as handle:
        handle.write("mount\t%s/mnt\nloop\t/dev/loop999\t%s/work.raw\n" % (workdir, workdir))
    return workdir


def test_marker_names_this_process():
    pid, start, host = recovery.marker_text().splitlines()
    assert host == recovery.this_host()
    assert int(pid) == os.getpid() and start == recovery.process_start_time(os.getpid())
    assert recovery.owner_alive(os.getpid(), start)
    assert not recovery.owner_alive(os.getpid(), str(int(start) + 1))  # a reused pid is not the owner
    assert not recovery.owner_alive(dead_pid())


def test_release_stale_removes_dead_builds_only(tmp_path):
    dead = stale_workdir(tmp_path, dead_pid())
    alive = stale_workdir(tmp_path, os.getpid(), recovery.process_start_time(os.getpid()))
    other_host = stale_workdir(tmp_path, dead_pid(), host="another-build-host")
    host = recovery.this_host()
    temp_dead = tmp_path / (".site.iso.tmp-%d@%s-xyz" % (dead_pid(), host))
    temp_alive = tmp_path / (".site.iso.tmp-%d@%s-xyz" % (os.getpid(), host))
    temp_other_host = tmp_path / (".site.iso.tmp-%d@another-build-host-xyz" % dead_pid())
    for path in (temp_dead, temp_alive, temp_other_host):
        path.write_text("half")
    assert os.path.basename(recovery.temp_prefix("/o/site.iso")).startswith(".site.iso.tmp-%d@%s-" % (os.getpid(), host))
    (tmp_path / "site.iso").write_text("good output")
    released = recovery.release_stale([str(tmp_path), str(tmp_path)])
    assert not os.path.exists(dead) and os.path.isdir(alive)
    assert os.path.isdir(other_host) and temp_other_host.exists()  # a shared directory: not ours to judge
    assert not temp_dead.exists() and temp_alive.exists()
    assert (tmp_path / "site.iso").read_text() == "good output"
    assert len(released) == 2
    assert released[0].startswith("released what a killed build (pid") and dead in released[0]
    assert "0 mount(s), 0 loop device(s)" in released[0]  # the recorded ones were already gone
    assert str(temp_dead) in released[1]


def test_release_stale_leaves_foreign_directories(tmp_path):
    foreign = tmp_path / (recovery.WORKDIR_PREFIX + "notours")
    foreign.mkdir()  # no marker, no ledger: a build just starting, or not ours
    assert recovery.release_stale([str(tmp_path)]) == []
    assert foreign.is_dir()


def _hold_lock(output, ready, seconds):
    with lock.output_lock(output):
        ready.set()
        time.sleep(seconds)


def test_output_lock_serialises_same_output(tmp_path):
    output = str(tmp_path / "site.iso")
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(output, ready, 1.5))
    holder.start()
    try:
        assert ready.wait(10)
        start = time.monotonic()
        with lock.output_lock(output) as waited:
            pass  # got the lock only once the first build let go, 1.5 s after it took it
        assert waited >= 1.0 and time.monotonic() - start >= 1.0
    finally:
        holder.join()


def test_output_lock_other_outputs_do_not_wait(tmp_path):
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(tmp_path / "a.iso"), ready, 3))
    holder.start()
    try:
        assert ready.wait(10)
        with lock.output_lock(str(tmp_path / "b.iso")) as waited:
            assert waited < 0.5
    finally:
        holder.join()


def test_output_lock_released_when_holder_is_killed(tmp_path):
    output = str(tmp_path / "site.iso")
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(output, ready, 60))
    holder.start()
    assert ready.wait(10)
    holder.kill()
    holder.join()
    with lock.output_lock(output) as waited:
        assert waited < 5


def test_output_lock_leaves_no_file(tmp_path):
    with lock.output_lock(str(tmp_path / "x.iso")):
        assert os.listdir(str(tmp_path)) == [".x.iso.liveiso-lock"]
    assert os.listdir(str(tmp_path)) == []


def test_output_lock_check_mode_writes_nothing(tmp_path):
    with lock.output_lock(str(tmp_path / "x.iso"), check_mode=True) as waited:
        assert waited == 0.0
    assert os.listdir(str(tmp_path)) == []


def test_ensure_space_names_directory_and_amounts(tmp_path, monkeypatch):
    monkeypatch.setattr(host, "free_bytes", lambda directory: 100 << 20)
    host.ensure_space({str(tmp_path): 99 << 20})
    with pytest.raises(HostError) as info:
        # two directories on one filesystem add up
        host.ensure_space({str(tmp_path): 60 << 20, str(tmp_path / ".."): 60 << 20})
    message = str(info.value)
    assert "not enough space in" in message and str(tmp_path) in message
    assert "needs about 120 MiB there, 100 MiB are free" in message
    assert "build_dir" in message


def test_out_of_space_detection():
    assert build._out_of_space(OSError(errno.ENOSPC, "No space left on device"))
    assert not build._out_of_space(OSError(errno.EIO, "I/O error"))
    assert build._out_of_space(CommandError(["mksquashfs"], 1, "Write failed because No space left on device"))
    assert not build._out_of_space(CommandError(["mksquashfs"], 1, "some other failure"))


def test_work_directory_marks_records_and_cleans(tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._image import ledger
    dead = stale_workdir(tmp_path, dead_pid())
    with recovery.work_directory(str(tmp_path), "/out/x.iso") as (workdir, released):
        assert os.path.basename(workdir).startswith(recovery.WORKDIR_PREFIX)
        assert not os.path.exists(dead) and len(released) == 1  # a dead build's leftovers went first
        pid, start, host, output = open(os.path.join(workdir, recovery.MARKER)).read().splitlines()
        assert int(pid) == os.getpid() and output == "/out/x.iso"
        ledger._record("mount", "/somewhere")  # what attach_loop/mounted write while the directory exists
        assert ledger.read_ledger(os.path.join(workdir, recovery.LEDGER)) == [("mount", "/somewhere")]
    assert not os.path.exists(workdir)
    assert ledger._LEDGER["path"] is None
