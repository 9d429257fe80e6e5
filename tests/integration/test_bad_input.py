# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input, table-driven: each case is one module call that must fail with a message naming what is wrong.

Proven for every case of CASES: the task fails (``failed`` is true), its ``msg`` holds the listed substrings,
nothing appears at (or next to) its output path, and afterwards no loop device or mount is left. Most cases
fail before anything is mounted and use hand-made inputs of a few MiB (tiny_images.py); they all run in ONE
playbook so ansible's start-up is paid once. The two cases that need a real system (a failing script, a
package that does not exist) run in a second playbook on the cached Debian base image.

Also proven: a path with spaces and non-ASCII characters works (source and destination), and no input file
is modified by any of the failing runs.

Not here: "an image without dracut's live module" is covered by
tests/integration/test_liveos_iso.py::test_missing_dracut_live_names_the_package (it needs a full build of
the base image); "no room in the build dir" and "a file over 4 GiB on the media" are tested elsewhere.
"""

import os
import subprocess

import pytest

from conftest import inspect_image, run_playbook, sh, sha256
from tiny_images import make_disk, make_iso, own_leaks, tiny_root_tree, write_tree

pytestmark = pytest.mark.root

SPACED_DEST = "/opt/dir with space/fïlé.txt"
SPACED_DIR_DEST = "/srv/dïr with space"


class Case(object):
    """One module call. Strings in ``params`` may name inputs as <<name>> (see the inputs fixture) and the
    case's own empty directory as <<out>>; ``output`` is the option that names what must not appear."""

    def __init__(self, case_id, module, params, expect, output="output", group="fast", xfail=None):
        self.id = case_id
        self.module = module
        self.params = params
        self.expect = expect
        self.output = output
        self.group = group
        self.xfail = xfail


def fill(value, names):
    """``value`` with every <<name>> in its strings replaced by ``names[name]`` (recursively)."""
    if isinstance(value, str):
        for key, path in names.items():
            if isinstance(path, str):
                value = value.replace("<<%s>>" % key, path)
        return value
    if isinstance(value, dict):
        return dict((fill(k, names), fill(v, names)) for k, v in value.items())
    if isinstance(value, list):
        return [fill(v, names) for v in value]
    return value


def ic(**params):
    """image_customize params: the tiny image in, a qcow2 in the case's directory out, unless overridden."""
    return dict(dict(image="<<tiny.raw>>", output="<<out>>/out.qcow2"), **params)


def li(**params):
    return dict(dict(image="<<tiny.raw>>", output="<<out>>/out.iso"), **params)


def files(*entries):
    return {"os": {"additionalFiles": list(entries)}}


CASES = [
    # ---- the input image
    Case("empty-file", "image_customize", ic(image="<<empty.raw>>"),
         ["input image <<empty.raw>> is empty.", "Point image at a disk image or Live ISO."]),
    Case("random-bytes", "image_customize", ic(image="<<random.img>>"),
         ["no Linux root filesystem found in", "(partitions: 0:unknown)",
          "Use a disk image with an ext4, xfs or btrfs root filesystem."]),
    Case("truncated-qcow2", "image_customize", ic(image="<<truncated.qcow2>>"),
         ["<<truncated.qcow2>>", "truncated"]),
    Case("qcow2-with-backing-file", "image_customize", ic(image="<<backed.qcow2>>"),
         ["input image <<backed.qcow2>> has a backing file (<<tiny.qcow2>>).",
          "Flatten it first: qemu-img convert -O qcow2 <<backed.qcow2>> flat.qcow2"]),
    Case("no-partition-table", "image_customize", ic(image="<<zeros.raw>>"),
         ["no Linux root filesystem found in <<zeros.raw>>", "(partitions: 0:unknown)"]),
    Case("no-linux-root", "image_customize", ic(image="<<noroot.raw>>"),
         ["no Linux root filesystem found in", "no filesystem holds /etc/os-release (looked at partition 2 (ext4)).",
          "Check that the image contains an installed Linux system."]),
    Case("missing-image", "image_customize", ic(image="<<inputs>>/no-such.qcow2"),
         ["input image <<inputs>>/no-such.qcow2 does not exist or is not a regular file.", "Check the image path."]),
    Case("image-is-a-directory", "image_customize", ic(image="<<inputs>>"),
         ["input image <<inputs>> does not exist or is not a regular file."]),
    Case("plain-iso-to-image-customize", "image_customize", ic(image="<<plain.iso>>"),
         ["<<plain.iso>>", "not a Live OS ISO"]),
    # ---- liveos_iso inputs
    Case("no-kernel", "liveos_iso", li(image="<<nokernel.raw>>"),
         ["no kernel found in the image: /boot has no vmlinuz-<version> with matching /lib/modules/<version>.",
          "os.packages.install: [linux-image-amd64]"]),
    # without dracut's live module: test_liveos_iso.py::test_missing_dracut_live_names_the_package
    Case("no-dracut", "liveos_iso", li(image="<<nodracut.raw>>"),
         ["the image has no dracut, which builds the live initramfs.", "os.packages.install: [dracut, dracut-live]"]),
    Case("root-without-mountpoints", "liveos_iso", li(image="<<tiny.raw>>"),
         ["/dev", "image"]),
    Case("iso-not-live", "liveos_iso", li(image="<<plain.iso>>"),
         ["<<plain.iso>> is an ISO image but not a Live OS ISO: it has no /liveos/rootfs.img.",
          "Give a disk image, or a Live ISO made by liveiso.customizer or the Image Customizer."]),
    Case("volume-label-too-long", "liveos_iso", li(volume_label="L" * 33),
         ["volume_label: '%s' is not a valid volume label." % ("L" * 33),
          "Use 1 to 32 characters of A-Z, a-z, 0-9, _ and -."]),
    Case("volume-label-with-space", "liveos_iso", li(volume_label="MY LIVE"),
         ["volume_label: 'MY LIVE' is not a valid volume label."]),
    Case("unsupported-compression", "liveos_iso", li(compression="bzip2"),
         ["value of compression must be one of: zstd, xz, gzip, lz4, got: bzip2"]),
    Case("compression-level-out-of-range", "liveos_iso", li(compression_level=99),
         ["compression_level: 99 is out of range", "for zstd"]),
    Case("compression-level-not-a-number", "liveos_iso", li(compression_level="fast"),
         ["argument 'compression_level' is of type", "unable to convert to int"]),
    Case("boot-mode-unknown", "liveos_iso", li(boot_modes=["bios", "pxe"]),
         ["value of boot_modes must be one or more of: bios, uefi. Got no match for: pxe"]),
    Case("iso-output-not-dot-iso", "liveos_iso", li(output="<<out>>/out.img"), ["output: must end in .iso"]),
    # ---- the configuration
    Case("unknown-key", "image_customize", ic(config={"os": {"hostnme": "web01"}}),
         ["config.os.hostnme: unknown key", "Supported here: additionalDirs, additionalFiles,"]),
    Case("unsupported-reference-key", "image_customize",
         ic(config={"previewFeatures": ["uki"], "os": {"uki": {"mode": "create"}}}),
         ["config.os.uki: is not supported yet by liveiso.customizer (os.uki: create)"]),
    Case("wrong-type-string", "image_customize", ic(config={"os": {"hostname": True}}),
         ["config.os.hostname: must be a string, got a boolean", "Quote the value"]),
    Case("wrong-type-list", "image_customize", ic(config={"os": {"services": {"enable": "ssh"}}}),
         ["config.os.services.enable: must be a list, got a string"]),
    Case("wrong-type-section", "image_customize", ic(config={"os": ["hostname"]}),
         ["config.os: must be a mapping, got a list"]),
    Case("bad-permissions", "image_customize",
         ic(config=files({"content": "x", "destination": "/etc/x", "permissions": "rwxr-xr-x"})),
         ["config.os.additionalFiles[0].permissions: 'rwxr-xr-x' is not an octal mode",
          "Use a string like '644' or '0755'."]),
    Case("selinux-mode-unknown", "image_customize", ic(config={"os": {"selinux": {"mode": "on"}}}),
         ["config.os.selinux.mode: 'on' is not one of disabled, permissive, enforcing, force-enforcing"]),
    Case("destination-with-dotdot", "image_customize",
         ic(config=files({"content": "x", "destination": "/opt/../../etc/shadow"})),
         ["config.os.additionalFiles[0].destination: '/opt/../../etc/shadow' contains '..'.",
          "Use a plain absolute path."]),
    Case("missing-source-file", "image_customize",
         ic(config=files({"source": "<<inputs>>/no-such-file", "destination": "/etc/x"})),
         ["config.os.additionalFiles[0].source: file not found: <<inputs>>/no-such-file"]),
    Case("relative-source-without-base", "image_customize",
         ic(config=files({"source": "files/motd", "destination": "/etc/motd"})),
         ["config.os.additionalFiles[0].source: relative path 'files/motd' needs a base directory.",
          "Set config_dir, or use config_file"]),
    Case("duplicate-users", "image_customize", ic(config={"os": {"users": [{"name": "ops"}, {"name": "ops"}]}}),
         ["config.os.users[1].name: user 'ops' is listed twice"]),
    Case("service-name-with-slash", "image_customize",
         ic(config={"os": {"services": {"enable": ["../../etc/ssh"]}}}),
         ["config.os.services.enable[0]: '../../etc/ssh' is not a valid unit name"]),
    Case("package-name-invalid", "image_customize", ic(config={"os": {"packages": {"install": ["-oAPT::x"]}}}),
         ["config.os.packages.install[0]: '-oAPT::x' is not a valid package name"]),
    Case("iso-section-for-disk-output", "image_customize", ic(config={"iso": {}}),
         ["config.iso: applies only to ISO output.", "Remove it, or build with liveos_iso."]),
    Case("config-file-missing", "image_customize", ic(config_file="<<inputs>>/no-such.yaml"),
         ["config_file: cannot read <<inputs>>/no-such.yaml: No such file or directory"]),
    Case("config-file-yaml-syntax-error", "image_customize", ic(config_file="<<broken.yaml>>"),
         ["config_file: <<broken.yaml>> is not valid YAML:", "line 3"]),
    Case("config-file-not-a-mapping", "image_customize", ic(config_file="<<list.yaml>>"),
         ["config: must be a mapping, got a list"]),
    Case("config-and-config-file", "image_customize", ic(config={}, config_file="<<list.yaml>>"),
         ["parameters are mutually exclusive: config|config_file"]),
    # ---- the output
    Case("output-equals-input", "image_customize", ic(output="<<tiny.raw>>"),
         ["output: must differ from image: the input image is never modified"]),
    Case("output-is-a-directory", "image_customize", ic(output="<<taken.qcow2>>"),
         ["output <<taken.qcow2>> is a directory.", "Give a file path for output."]),
    Case("output-directory-missing", "image_customize", ic(output="<<out>>/no/such/dir/out.qcow2"),
         ["output directory <<out>>/no/such/dir does not exist.", "Create it first."]),
    Case("output-format-unknown-extension", "image_customize", ic(output="<<out>>/out.img.gz"),
         ["output_format: cannot be derived from the output name out.img.gz.",
          "Set output_format to one of: qcow2, raw, vhd, vhd-fixed, vhdx."]),
    # root ignores mode 0555, so the directory is also immutable (chattr +i): that is what makes it read-only
    Case("read-only-output-dir-immutable", "image_customize", ic(output="<<immutable>>/out.qcow2"),
         ["output directory <<immutable>> is not writable.",
          "Choose a writable output path or fix the directory's permissions."]),
    Case("read-only-output-dir-ro-mount", "image_customize", ic(output="<<ro-mount>>/out.qcow2"),
         ["output directory <<ro-mount>> is not writable."]),
    # ---- cloudinit_seed
    Case("user-data-invalid-yaml", "cloudinit_seed",
         {"dest": "<<out>>/seed", "user_data": "#cloud-config\nusers:\n  - name: ops\n   sudo: [unclosed\n"},
         ["user-data: line 4: not valid YAML:"], output="dest"),
    Case("user-data-unknown-format", "cloudinit_seed", {"dest": "<<out>>/seed", "user_data": "users: []\n"},
         ["user-data: line 1: unknown format (first line 'users: []')",
          "Start it with #cloud-config, a #! script line, or give MIME multipart."], output="dest"),
    Case("network-config-unknown-version", "cloudinit_seed",
         {"dest": "<<out>>/seed", "network_config": {"version": 3, "ethernets": {}}},
         ["network-config: version must be 1 or 2, got 3"], output="dest"),
    Case("network-config-v2-unknown-key", "cloudinit_seed",
         {"dest": "<<out>>/seed", "network_config": {"version": 2, "ethernet": {}}},
         ["network-config: unknown version 2 key 'ethernet'.", "Known: ethernets,"], output="dest"),
    Case("meta-data-not-a-mapping", "cloudinit_seed", {"dest": "<<out>>/seed", "meta_data": "- a\n- b\n"},
         ["meta-data: must be a mapping"], output="dest"),
    # ---- need a real system: one run each on the Debian base image
    Case("failing-script", "image_customize",
         ic(image="<<base.qcow2>>", config={"scripts": {"postCustomization": [
             {"name": "breaks", "content": "echo about to fail; exit 7"}]}}),
         ["config.scripts.postCustomization[0] (breaks) failed with exit code 7", "about to fail",
          "Fix the script; the image was not changed."], group="base"),
    Case("package-does-not-exist", "image_customize",
         ic(image="<<base.qcow2>>", config={"os": {"packages": {"install": ["liveiso-no-such-package"]}}}),
         ["config.os.packages.install:", "Unable to locate package liveiso-no-such-package",
          "Check the package names and that the image's repositories are reachable."], group="base"),
]


def _nokernel_tree(root, dracut=True):
    """A root the live-ISO code gets far into: mount points, a dracut with its live module, but no kernel."""
    extra = {"dirs": ["/dev", "/proc", "/sys", "/run"]}
    if dracut:
        extra["files"] = {"/usr/bin/dracut": "#!/bin/sh\nexit 1\n"}
        extra["dirs"].append("/usr/lib/dracut/modules.d/90dmsquash-live")
    tiny_root_tree(root, **extra)
    if dracut:
        os.chmod(os.path.join(root, "usr/bin/dracut"), 0o755)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Every bad (and one good) input, by name; the names are what <<name>> stands for in CASES."""
    base = str(tmp_path_factory.mktemp("bad-inputs"))
    trees = str(tmp_path_factory.mktemp("bad-trees"))
    p = dict((name, os.path.join(base, name)) for name in (
        "empty.raw", "random.img", "tiny.raw", "tiny.qcow2", "truncated.qcow2", "backed.qcow2", "zeros.raw",
        "noroot.raw", "nokernel.raw", "nodracut.raw", "plain.iso", "broken.yaml", "list.yaml", "taken.qcow2"))
    p["inputs"] = base
    open(p["empty.raw"], "w").close()
    with open(p["random.img"], "wb") as handle:
        handle.write(os.urandom(1 << 20))
    make_disk(p["tiny.raw"], tiny_root_tree(os.path.join(trees, "tiny")))
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", p["tiny.raw"], p["tiny.qcow2"])
    with open(p["tiny.qcow2"], "rb") as source, open(p["truncated.qcow2"], "wb") as target:
        target.write(source.read(os.path.getsize(p["tiny.qcow2"]) // 3))  # header and tables kept, data cut
    sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", p["tiny.qcow2"], "-F", "qcow2", p["backed.qcow2"])
    sh("truncate", "-s", "8M", p["zeros.raw"])
    make_disk(p["noroot.raw"], write_tree(os.path.join(trees, "noroot"), files={"/etc/hostname": "x\n"}))
    make_disk(p["nokernel.raw"], _nokernel_tree(os.path.join(trees, "nokernel")))
    make_disk(p["nodracut.raw"], _nokernel_tree(os.path.join(trees, "nodracut"), dracut=False))
    make_iso(p["plain.iso"], write_tree(os.path.join(trees, "plain"), files={"/readme.txt": "not live\n"}))
    with open(p["broken.yaml"], "w") as handle:
        handle.write("os:\n  hostname: web01\n  packages: [unclosed\n")
    with open(p["list.yaml"], "w") as handle:
        handle.write("- os\n- scripts\n")
    os.mkdir(p["taken.qcow2"])
    # a path with spaces and non-ASCII characters (the case that must work)
    p["spaced"] = os.path.join(base, "sr c dïr", "fïlé sourcé.txt")
    p["spaced-dir"] = os.path.join(base, "trëe with space")
    write_tree(os.path.dirname(p["spaced"]), files={os.path.basename(p["spaced"]): "spaced ünïcode\n"})
    write_tree(p["spaced-dir"], files={"/sub dir/ñested file.txt": "nested\n"})
    # read-only output directories (see the cases)
    p["immutable"] = str(tmp_path_factory.mktemp("immutable"))
    p["ro-mount"] = str(tmp_path_factory.mktemp("ro-mount"))
    p["sha256"] = dict((name, sha256(p[name])) for name in ("tiny.raw", "tiny.qcow2", "truncated.qcow2",
                                                            "backed.qcow2", "plain.iso", "nokernel.raw"))
    return p


class ReadOnlyDirs(object):
    """The read-only output directories exist only while a playbook runs: 0555 + immutable, and a ro tmpfs."""

    def __init__(self, inputs):
        self.immutable = inputs["immutable"]
        self.ro_mount = inputs["ro-mount"]

    def __enter__(self):
        os.chmod(self.immutable, 0o555)
        sh("chattr", "+i", self.immutable)
        sh("mount", "-t", "tmpfs", "-o", "ro,size=1m,mode=0555", "liveiso-test-ro", self.ro_mount)
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", self.ro_mount], check=False)
        subprocess.run(["chattr", "-i", self.immutable], check=False)
        os.chmod(self.immutable, 0o755)


def lock_name(output):
    """build.output_lock() keeps its flock file ``.<output>.liveiso-lock`` beside the output, by design (deleting
    a lock file races with the next waiter); it is the one thing a failed build may leave there."""
    return "." + os.path.basename(output) + ".liveiso-lock"


def _state(path):
    """What is at ``path``: None, ('dir', sorted names) or ('file', sha256)."""
    if os.path.isdir(path):
        return ("dir", sorted(os.listdir(path)))
    if os.path.lexists(path):
        return ("file", sha256(path))
    return None


@pytest.fixture(scope="module")
def runs(inputs, tmp_path_factory, request):
    """Runs a group of CASES in one playbook on first use; returns {case id: outcome}."""
    work = str(tmp_path_factory.mktemp("bad-runs"))
    basetemp = str(tmp_path_factory.getbasetemp())
    done, attempted = {}, set()

    def run_group(group):
        names = dict(inputs)
        if group == "base":
            names["base.qcow2"] = os.path.join(request.getfixturevalue("base_dir"), "base.qcow2")
        cases = [c for c in CASES if c.group == group]
        tasks, prepared = [], []
        for case in cases:
            names["out"] = os.path.join(work, case.id)
            os.mkdir(names["out"])
            params = fill(case.params, names)
            target = params[case.output]
            prepared.append((case, names["out"], target, fill(case.expect, names)))
            tasks.append({"name": case.id, "liveiso.customizer.%s" % case.module: params})
        if group == "fast":
            names["out"] = os.path.join(work, "spaced")
            os.mkdir(names["out"])
            tasks.append({"name": "spaced", "liveiso.customizer.image_customize": fill(ic(
                output="<<out>>/spaced out.raw",
                config={"os": {"additionalFiles": [{"source": "<<spaced>>", "destination": SPACED_DEST}],
                               "additionalDirs": [{"source": "<<spaced-dir>>", "destination": SPACED_DIR_DEST}]}}),
                names)})
        with ReadOnlyDirs(inputs):
            before = [_state(entry[2]) for entry in prepared]
            results, log = run_playbook(work, tasks)[1:]
            after = [_state(entry[2]) for entry in prepared]
        leaked = own_leaks(basetemp)
        for index, (case, case_dir, target, expect) in enumerate(prepared):
            done[case.id] = {"result": results[index], "expect": expect, "case_dir": case_dir, "target": target,
                             "before": before[index], "after": after[index], "leaks": leaked, "log": log}
        if group == "fast":
            done["spaced"] = {"result": results[-1], "output": os.path.join(work, "spaced", "spaced out.raw"),
                              "leaks": leaked}

    def outcome(case_id, group):
        if group not in attempted:  # once per group, even if the run itself breaks
            attempted.add(group)
            run_group(group)
        return done[case_id]

    return outcome


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)]
                                               if c.xfail else []) for c in CASES])
def test_bad_input_fails_clearly(runs, case):
    """The task fails with the listed message parts; nothing at its output, nothing left in its directory."""
    out = runs(case.id, case.group)
    result = out["result"]
    assert result.get("failed") is True, result.get("msg")
    msg = result.get("msg", "")
    assert not msg.startswith("internal error"), msg
    for part in out["expect"]:
        assert part in msg, "%r not in %r" % (part, msg)
    assert out["after"] == out["before"], "something appeared at %s" % out["target"]
    assert [n for n in os.listdir(out["case_dir"]) if n != lock_name(out["target"])] == []
    assert out["leaks"] == ("", [])


def test_case_table_is_large_and_unique():
    ids = [c.id for c in CASES]
    assert len(ids) >= 25 and len(set(ids)) == len(ids)


def test_spaces_and_non_ascii_paths_work(runs, inputs):
    """Source, destination and output paths with spaces and non-ASCII characters: the file lands in the image."""
    out = runs("spaced", "fast")
    assert not out["result"].get("failed"), out["result"].get("msg")
    assert out["result"]["changed"] is True and os.path.isfile(out["output"])
    assert out["leaks"] == ("", [])
    with inspect_image(out["output"]) as img:
        assert img.read(SPACED_DEST) == "spaced ünïcode\n"
        assert img.read(SPACED_DIR_DEST + "/sub dir/ñested file.txt") == "nested\n"


def test_inputs_never_modified(runs, inputs):
    """After every case ran (the fast group at least), no input file changed."""
    runs("empty-file", "fast")
    assert dict((name, sha256(inputs[name])) for name in inputs["sha256"]) == inputs["sha256"]
    assert not [n for n in os.listdir(inputs["inputs"]) if n.startswith(".")]
    assert os.listdir(inputs["taken.qcow2"]) == []
