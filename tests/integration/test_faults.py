# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults: SIGTERM/SIGINT at the steps of both pipelines, kill -9 and recovery, a full disk, parallel builds.

After every interrupted build: no mounts, no loop devices, no work directory or temp output left, nothing at
the output path if there was nothing before, the previous output byte-identical if there was one, the input
unchanged; and the next build succeeds. The library runs in a child Python process (the signal is sent from
inside it at a named step through the test-only hooks in build.py), as the module would run it.
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import HERE, REPO, leaks, sh, sha256

pytestmark = pytest.mark.root

DATA = os.path.join(HERE, "data")
COLLECTIONS = os.path.join(REPO, "build", "collections")

RUNNER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, %(collections)r)
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.disk import CustomizeRequest, customize_image
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CustomizerError
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import LiveIsoRequest, build_live_iso
    spec = json.loads(sys.argv[1])
    config = parse_config(spec.pop("config"), spec.pop("config_dir", None))
    kind = spec.pop("kind")
    try:
        if kind == "customize":
            result = customize_image(CustomizeRequest(config=config, **spec))
        else:
            result = build_live_iso(LiveIsoRequest(config=config, **spec))
    except CustomizerError as err:
        print(json.dumps({"failed": True, "msg": str(err), "error": type(err).__name__}))
        sys.exit(1)
    print(json.dumps(result))
""") % {"collections": COLLECTIONS}


def build(kind, config, fault=None, after=None, **spec):
    """Run one build in a child process; return (returncode, result dict or None, output text)."""
    env = dict(os.environ)
    env.pop("LIVEISO_TEST_SIGNAL_DURING_STEP", None)
    env.pop("LIVEISO_TEST_SIGNAL_AFTER_STEP", None)
    if fault:
        env["LIVEISO_TEST_SIGNAL_DURING_STEP"] = fault
    if after:
        env["LIVEISO_TEST_SIGNAL_AFTER_STEP"] = after
    spec = dict(spec, kind=kind, config=config)
    proc = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(spec)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, timeout=1200, check=False)
    text = proc.stdout.decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return proc.returncode, (json.loads(lines[-1]) if lines else None), text


def leftovers(directory):
    return sorted(name for name in os.listdir(directory)
                  if name.startswith(".liveiso-build-") or ".tmp-" in name)


def assert_clean(directory, output, before_sha, input_path, input_sha):
    assert leaks() == ("", []), leaks()
    assert leftovers(directory) == []
    if before_sha is None:
        assert not os.path.exists(output)
    else:
        assert sha256(output) == before_sha
    assert sha256(input_path) == input_sha


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("faults"))


@pytest.fixture(scope="module")
def qcow2(base_dir):
    path = os.path.join(base_dir, "base.qcow2")
    return path, sha256(path)


CUSTOMIZE = {
    "os": {"hostname": "faulty",
           "additionalFiles": [{"content": "x\n", "destination": "/opt/fault/x.txt"}],
           "groups": [{"name": "fleet"}],
           "users": [{"name": "ops", "primaryGroup": "fleet"}]},
    "scripts": {"postCustomization": [{"content": "echo post > /opt/fault/post.txt"}],
                "finalizeCustomization": [{"content": "echo final > /opt/fault/final.txt"}]},
}
CUSTOMIZE_STEPS = ["copy-input", "mount-image", "set-hostname", "create-groups", "configure-users",
                   "copy-additional-files", "run-post-customization-scripts",
                   "run-finalize-customization-scripts", "unmount-image", "export-image"]


@pytest.fixture(scope="module")
def good_output(qcow2, work):
    """A previous good output of the same build: every interrupted rebuild must leave it as it is."""
    output = os.path.join(work, "out", "custom.qcow2")
    os.makedirs(os.path.dirname(output))
    code, result, text = build("customize", CUSTOMIZE, image=qcow2[0], output=output)
    assert code == 0, text
    assert [s["name"] for s in result["steps"]] == CUSTOMIZE_STEPS
    return output, result["sha256"]


@pytest.mark.parametrize("step", CUSTOMIZE_STEPS)
def test_sigterm_after_each_customize_step(qcow2, good_output, step):
    output, good = good_output
    code, result, text = build("customize", dict(CUSTOMIZE, os=dict(CUSTOMIZE["os"], hostname="faulty2")),
                               after=step, image=qcow2[0], output=output)
    assert code != 0 and result and result["error"] == "BuildInterrupted", text
    assert "interrupted by signal SIGTERM" in result["msg"]
    assert_clean(os.path.dirname(output), output, good, *qcow2)


def test_sigint_during_a_running_script_stops_it(qcow2, good_output):
    """SIGINT while a script runs in the chroot: the script's whole process tree is stopped, then unmounted."""
    output, good = good_output
    config = dict(CUSTOMIZE, scripts={"postCustomization": [{"content": "sleep 600 & sleep 600; wait"}]})
    code, result, text = build("customize", config, fault="run-post-customization-scripts:3:SIGINT",
                               image=qcow2[0], output=output)
    assert result and result["error"] == "BuildInterrupted" and "SIGINT" in result["msg"], text
    assert_clean(os.path.dirname(output), output, good, *qcow2)
    assert "sleep 600" not in sh("ps", "-eo", "args")


def test_sigterm_then_rerun_succeeds(qcow2, good_output):
    output, good = good_output
    changed = dict(CUSTOMIZE, os=dict(CUSTOMIZE["os"], hostname="after-fault"))
    code, result, text = build("customize", changed, fault="copy-input:0.2", image=qcow2[0], output=output)
    assert code != 0, text
    assert_clean(os.path.dirname(output), output, good, *qcow2)
    code, result, text = build("customize", changed, image=qcow2[0], output=output)
    assert code == 0 and result["changed"] is True and result["sha256"] != good, text


# ---------------------------------------------------------------- Live ISO pipeline

LIVE = {"iso": {"kernelCommandLine": {"extraCommandLine": ["fault=test"]}}}


@pytest.fixture(scope="module")
def raw(base_dir):
    path = os.path.join(base_dir, "base.raw")
    return path, sha256(path)


@pytest.mark.parametrize("fault", ["mount-image:0:SIGINT", "build-initrd:4"])
def test_live_iso_interrupted_early(raw, work, fault):
    directory = os.path.join(work, "live-early")
    os.makedirs(directory, exist_ok=True)
    output = os.path.join(directory, "live.iso")
    code, result, text = build("live", LIVE, fault=fault, image=raw[0], output=output, compression_level=3)
    assert result and result["error"] == "BuildInterrupted", text
    assert_clean(directory, output, None, *raw)
    assert "dracut" not in sh("ps", "-eo", "args")


@pytest.fixture(scope="module")
def killed_then_rebuilt(raw, work):
    """kill -9 in the middle of dracut (chroot mounts up), then the same build again."""
    directory = os.path.join(work, "live-kill")
    os.makedirs(directory)
    output = os.path.join(directory, "live.iso")
    code, result, text = build("live", LIVE, fault="build-initrd:4:SIGKILL", image=raw[0], output=output,
                               compression_level=3)
    assert code == -9, text
    stale = {"loops": leaks()[0], "mounts": leaks()[1], "files": leftovers(directory)}
    code, result, text = build("live", LIVE, image=raw[0], output=output, compression_level=3)
    assert code == 0, text
    return {"output": output, "stale": stale, "result": result, "directory": directory}


def test_kill9_leftovers_are_released_by_the_next_build(raw, killed_then_rebuilt):
    stale = killed_then_rebuilt["stale"]
    # the killed build really left mounts and loop devices behind (else this test proves nothing)
    assert stale["mounts"] and stale["loops"] and any(n.startswith(".liveiso-build-") for n in stale["files"])
    notes = killed_then_rebuilt["result"]["notes"]
    released = [n for n in notes if n.startswith("released what a killed build")]
    assert len(released) == 1 and "mount(s)" in released[0], notes
    assert not released[0].startswith("released what a killed build (pid None)")
    assert_clean(killed_then_rebuilt["directory"], killed_then_rebuilt["output"],
                 killed_then_rebuilt["result"]["sha256"], *raw)


def test_live_iso_interrupted_while_writing_keeps_previous_output(raw, killed_then_rebuilt):
    output, good = killed_then_rebuilt["output"], killed_then_rebuilt["result"]["sha256"]
    config = {"iso": {"kernelCommandLine": {"extraCommandLine": ["fault=late"]}}}
    code, result, text = build("live", config, fault="write-iso:0.3", image=raw[0], output=output,
                               compression_level=3)
    assert result and result["error"] == "BuildInterrupted", text
    assert_clean(killed_then_rebuilt["directory"], output, good, *raw)


@pytest.mark.parametrize("after,fault", [("remaster-iso", None), ("checksum", None),
                                         # while the copy thread runs and the output is hashed
                                         (None, "remaster-iso:0.05"), (None, "remaster-iso:0.12:SIGINT")])
def test_remaster_interrupted_keeps_previous_output(killed_then_rebuilt, work, after, fault):
    base = killed_then_rebuilt["output"]
    directory = os.path.join(work, "sites")
    os.makedirs(directory, exist_ok=True)
    output = os.path.join(directory, "site.iso")
    config = {"iso": {"kernelCommandLine": {"extraCommandLine": ["site=one"]}}}
    if not os.path.exists(output):
        code, result, text = build("live", config, image=base, output=output)
        assert code == 0 and result["build_path"] == "remaster", text
    good = sha256(output)
    config = {"iso": {"kernelCommandLine": {"extraCommandLine": ["site=%s" % (after or fault)]}}}
    code, result, text = build("live", config, after=after, fault=fault, image=base, output=output)
    assert result and result["error"] == "BuildInterrupted", text
    assert_clean(directory, output, good, base, sha256(base))
    assert "xorriso" not in sh("ps", "-eo", "args")


# ---------------------------------------------------------------- full disk, concurrency

@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = str(tmp_path / "small")
    os.mkdir(mnt)
    sh("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt)
    try:
        yield mnt
    finally:
        sh("umount", mnt)


def test_build_dir_without_room(qcow2, work, small_tmpfs):
    output = os.path.join(work, "nospace.qcow2")
    code, result, text = build("customize", CUSTOMIZE, image=qcow2[0], output=output, build_dir=small_tmpfs)
    assert result and result["error"] == "HostError", text
    assert "not enough space in %s" % small_tmpfs in result["msg"]
    assert "MiB are free" in result["msg"] and "build_dir" in result["msg"]
    assert os.listdir(small_tmpfs) == ["nospace.qcow2.build.log"]  # a build_dir keeps the build's log
    assert not os.path.exists(output) and sha256(qcow2[0]) == qcow2[1]


def test_output_dir_without_room(killed_then_rebuilt, small_tmpfs):
    """The ISO copy cannot fit in the output directory: a clear error before anything is written."""
    base = killed_then_rebuilt["output"]
    output = os.path.join(small_tmpfs, "site.iso")
    code, result, text = build("live", {"iso": {}}, image=base, output=output)
    assert result and result["error"] == "HostError", text
    assert ("not enough space in %s" % small_tmpfs in result["msg"]
            or "no space left on the device" in result["msg"]), result["msg"]
    assert os.listdir(small_tmpfs) == []


def test_parallel_builds(killed_then_rebuilt, work):
    """Four sites at once into different outputs all succeed; two builds of one output are serialised."""
    base = killed_then_rebuilt["output"]
    directory = os.path.join(work, "parallel")
    os.makedirs(directory)

    def one(name, arg):
        return build("live", {"iso": {"kernelCommandLine": {"extraCommandLine": [arg]}}}, image=base,
                     output=os.path.join(directory, name + ".iso"))

    jobs = [("a", "site=a"), ("b", "site=b"), ("c", "site=c"), ("d", "site=d"), ("same", "same=1"),
            ("same", "same=1")]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        outcomes = list(pool.map(lambda job: one(*job), jobs))
    for code, result, text in outcomes:
        assert code == 0, text
    same = [result for code, result, text in outcomes[4:]]
    # one of the two built it; the other waited for the lock and then found it current
    assert sorted(r["changed"] for r in same) == [False, True], same
    assert any("waited" in n for r in same for n in r.get("notes", [])), same
    assert len({sha256(os.path.join(directory, n + ".iso")) for n in "abcd"}) == 4
    assert leftovers(directory) == [] and leaks() == ("", [])
    for name in "abcd":
        # the ISO is whole: xorriso reads it and it carries its own site's argument
        listing = sh("xorriso", "-osirrox", "on", "-indev", os.path.join(directory, name + ".iso"),
                     "-extract", "/boot/grub/grub.cfg", os.path.join(directory, name + ".cfg"))
        with open(os.path.join(directory, name + ".cfg")) as handle:
            assert "site=%s" % name in handle.read(), listing
    shutil.rmtree(directory)


def test_file_over_4gib_on_the_media(killed_then_rebuilt, work):
    """ISO level 3: a 4.1 GiB file goes on the media (as several extents) and reads back whole."""
    directory = os.path.join(work, "big")
    os.makedirs(directory)
    big = os.path.join(directory, "big file ä.bin")
    size = (4 << 30) + (100 << 20)
    with open(big, "wb") as handle:
        handle.truncate(size)
        handle.seek(size - 7)
        handle.write(b"THE-END")
    output = os.path.join(directory, "big.iso")
    code, result, text = build("live", {"iso": {"additionalFiles": [{"source": big, "destination": "/data/big ä.bin"}]}},
                               image=killed_then_rebuilt["output"], output=output)
    assert code == 0 and result["build_path"] == "remaster", text
    assert result["size"] > size
    listing = sh("xorriso", "-indev", output, "-find", "/data", "-type", "f", "-exec", "lsdl")
    assert str(size) in listing, listing
    sh("xorriso", "-osirrox", "on", "-indev", output, "-extract", "/data", directory + "/x")
    with open(os.path.join(directory, "x", "big ä.bin"), "rb") as handle:
        handle.seek(size - 7)
        assert handle.read() == b"THE-END"
    shutil.rmtree(directory)
