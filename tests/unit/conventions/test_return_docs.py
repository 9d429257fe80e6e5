# SPDX-License-Identifier: GPL-3.0-or-later
"""Each module's RETURN documents exactly the keys the module returns, with the documented types.

The modules are run for real (their main(), through AnsibleModule, output read from what exit_json and
fail_json print), for every kind of result: check mode, a build, an up-to-date rerun, each output kind
(disk image, Live ISO), with and without build_dir and --diff, and failures. A key added to a result without
documentation fails here, and so does a documented key that no run returns.

Without root, two pieces are replaced: the root check (with the host tool check) and the one step of each
pipeline that needs root (customizing the mounted image; turning the mounted disk into an ISO). The fakes
are put wherever module_utils binds those functions, so the rest runs as it is: requests, digests, stamps,
build directories, publication, and the result dicts. tests/integration/test_return_docs.py checks the same
with real builds as root (including the remaster fast path and validate_with_image).
"""

import contextlib
import importlib
import io
import json
import os
import shutil
from unittest import mock

import pytest
import yaml

from ansible.module_utils import basic

PREFIX = "ansible_collections.liveiso.customizer"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MODULES = ("image_customize", "liveos_iso", "cloudinit_seed")
# Ansible's common return values (https://docs.ansible.com/ansible/latest/reference_appendices/common_return_values.html),
# added by AnsibleModule itself or documented once for all modules; every other key must be in RETURN.
COMMON = {"changed", "failed", "invocation", "warnings", "deprecations", "exception", "skipped"}
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}


def documented(name):
    """{key: doc} of the module's RETURN."""
    module = importlib.import_module("%s.plugins.modules.%s" % (PREFIX, name))
    return yaml.safe_load(module.RETURN) or {}


@contextlib.contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core >= 2.19
    except ImportError:  # older ansible-core: the module reads basic._ANSIBLE_ARGS
        payload = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", payload):
            yield
        return
    with patch_module_args(args):
        yield


def run_module(name, args, check=False, diff=False):
    """Run module ``name`` as Ansible would in-process; return the JSON result it printed."""
    module = importlib.import_module("%s.plugins.modules.%s" % (PREFIX, name))
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    out = io.StringIO()
    with module_args(args), contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        module.main()
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert lines, "module %s printed no result" % name
    return json.loads(lines[-1])


def library_modules():
    """Every module of plugins/module_utils (any layout), imported."""
    base = os.path.join(ROOT, "plugins", "module_utils")
    found = []
    for directory, dirs, files in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for filename in sorted(files):
            if not filename.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(directory, filename), base)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            name = ".".join([PREFIX, "plugins", "module_utils"] + rel)
            found.append(importlib.import_module(name))
    return found


def replace_everywhere(patcher, name, fake):
    """Replace the module_utils function ``name`` by ``fake`` in every module that binds it."""
    modules = library_modules()
    originals = {getattr(m, name) for m in modules
                 if callable(getattr(m, name, None)) and getattr(getattr(m, name), "__module__", None) == m.__name__}
    assert originals, ("no function %s in plugins/module_utils: this test fakes it to run without root; "
                       "name its new counterpart here" % name)
    for module in modules:
        if getattr(module, name, None) in originals:
            patcher.setattr(module, name, fake)


FAULTS = []  # a run that wants an internal error (a bug) puts one here


def fake_customization(*args, **kwargs):
    if FAULTS:
        raise FAULTS[0]
    return ["mounted: (faked by the test: no root)"]


def fake_disk_to_iso(build, *args, **kwargs):
    """Stands in for the root-only disk -> ISO steps: a small file at the build's temp output."""
    tmp = build.temp_output()
    with open(tmp, "wb") as handle:
        handle.write(b"\0" * 32768)
    return tmp


@pytest.fixture(scope="module")
def no_root():
    if not shutil.which("qemu-img"):
        pytest.skip("needs qemu-img (qemu-utils; make host-deps installs it) to inspect the test images")
    with pytest.MonkeyPatch.context() as patcher:
        replace_everywhere(patcher, "require_root", lambda *a, **k: None)
        replace_everywhere(patcher, "require_tools", lambda *a, **k: None)
        replace_everywhere(patcher, "run_customization", fake_customization)
        replace_everywhere(patcher, "build_from_disk", fake_disk_to_iso)
        yield patcher


@pytest.fixture(scope="module")
def disk(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "disk.raw"
    with open(str(path), "wb") as handle:
        handle.truncate(4 * 1024 * 1024)
    return str(path)


def image_customize_runs(tmp, disk):
    config = {"os": {"hostname": "returned-keys"}}
    qcow2 = dict(image=disk, output=os.path.join(tmp, "out.qcow2"), config=config)
    iso = dict(image=disk, output=os.path.join(tmp, "out.iso"), config=config)
    runs = {
        "check mode, qcow2": run_module("image_customize", qcow2, check=True),
        "build, qcow2, build_dir": run_module("image_customize", dict(qcow2, build_dir=os.path.join(tmp, "bd"))),
        "up to date, qcow2": run_module("image_customize", qcow2),
        "check mode, up to date": run_module("image_customize", qcow2, check=True),
        "forced build, qcow2, no checksum": run_module("image_customize", dict(qcow2, force=True, checksum=False)),
        "check mode, iso": run_module("image_customize", iso, check=True),
        "build, iso, build_dir": run_module("image_customize", dict(iso, build_dir=os.path.join(tmp, "bd"))),
        "up to date, iso": run_module("image_customize", iso),
        "failure, missing image": run_module("image_customize", dict(qcow2, image=os.path.join(tmp, "none.raw"))),
        "failure, bad config": run_module("image_customize", dict(qcow2, config={"os": {"nope": 1}})),
    }
    FAULTS.append(RuntimeError("a bug, injected by the test"))
    try:
        runs["failure, internal error"] = run_module("image_customize", dict(qcow2, force=True))
    finally:
        del FAULTS[:]
    return runs


def liveos_iso_runs(tmp, disk):
    args = dict(image=disk, output=os.path.join(tmp, "live.iso"),
                iso={"additionalFiles": [{"content": "x\n", "destination": "/x.txt"}]})
    return {
        "check mode": run_module("liveos_iso", args, check=True),
        "build, build_dir": run_module("liveos_iso", dict(args, build_dir=os.path.join(tmp, "bd"))),
        "up to date": run_module("liveos_iso", args),
        "check mode, up to date": run_module("liveos_iso", args, check=True),
        "forced build, no checksum": run_module("liveos_iso", dict(args, force=True, checksum=False)),
        "failure, not .iso": run_module("liveos_iso", dict(args, output=os.path.join(tmp, "live.img"))),
    }


def cloudinit_seed_runs(tmp):
    seed = dict(dest=os.path.join(tmp, "seed"), host="h1", meta_data={"local-hostname": "h1"},
                user_data={"users": [{"name": "ops"}]},
                network_config={"version": 2, "ethernets": {"nic": {"match": {"macaddress": "52:54:00:00:00:01"},
                                                                    "dhcp4": True}}})
    changed = dict(seed, user_data={"users": [{"name": "ops2"}]})
    return {
        "write": run_module("cloudinit_seed", seed),
        "unchanged": run_module("cloudinit_seed", seed),
        "check mode, diff": run_module("cloudinit_seed", changed, check=True, diff=True),
        "diff": run_module("cloudinit_seed", changed, diff=True),
        "rootfs placement": run_module("cloudinit_seed", dict(changed, placement="rootfs")),
        "failure, bad network-config": run_module("cloudinit_seed", dict(seed, network_config={"version": 9})),
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory, no_root, disk):
    """{module: {run: result}}."""
    tmp = str(tmp_path_factory.mktemp("return-keys"))
    for sub in ("ic", "lo", "cs"):
        os.mkdir(os.path.join(tmp, sub))
    return {
        "image_customize": image_customize_runs(os.path.join(tmp, "ic"), disk),
        "liveos_iso": liveos_iso_runs(os.path.join(tmp, "lo"), disk),
        "cloudinit_seed": cloudinit_seed_runs(os.path.join(tmp, "cs")),
    }


def succeeded(runs):
    return {name: result for name, result in runs.items() if not result.get("failed")}


def test_runs_reach_what_they_are_named_for(results):
    """The runs take the paths their names say (otherwise the key checks below would prove less)."""
    ic, lo, cs = results["image_customize"], results["liveos_iso"], results["cloudinit_seed"]
    for runs in (ic, lo, cs):
        for name, result in runs.items():
            assert bool(result.get("failed")) == name.startswith("failure"), (name, result.get("msg"))
    assert ic["check mode, qcow2"]["changed"] and ic["check mode, qcow2"]["msg"].endswith("would be built")
    assert ic["up to date, qcow2"]["changed"] is False and not ic["check mode, up to date"]["changed"]
    assert ic["build, iso, build_dir"]["build_path"] == "full" and ic["up to date, iso"]["changed"] is False
    assert "internal error" in ic["failure, internal error"]["msg"]
    assert lo["build, build_dir"]["changed"] and lo["up to date"]["changed"] is False
    assert cs["write"]["changed"] and not cs["unchanged"]["changed"] and cs["diff"]["changed"]


@pytest.mark.parametrize("name", MODULES)
def test_every_returned_key_is_documented(results, name):
    docs = documented(name)
    undocumented = {}
    for run, result in results[name].items():
        for key in sorted(set(result) - COMMON - set(docs)):
            undocumented.setdefault(key, []).append(run)
    assert not undocumented, "%s returns keys its RETURN does not document: %s" % (name, undocumented)


@pytest.mark.parametrize("name", MODULES)
def test_every_documented_key_is_returned(results, name):
    seen = set().union(*(set(result) for result in results[name].values()))
    never = sorted(set(documented(name)) - seen)
    assert not never, "%s documents keys no run returns (stale RETURN, or a run missing here): %s" % (name, never)


@pytest.mark.parametrize("name", MODULES)
def test_keys_returned_always_are_in_every_successful_result(results, name):
    always = {key for key, doc in documented(name).items() if str(doc.get("returned")).strip() == "always"}
    missing = {run: sorted(always - set(result)) for run, result in succeeded(results[name]).items()
               if always - set(result)}
    assert not missing, "%s: keys documented 'returned: always' are missing: %s" % (name, missing)


@pytest.mark.parametrize("name", MODULES)
def test_returned_values_have_the_documented_types(results, name):
    docs = documented(name)
    wrong = []
    for run, result in results[name].items():
        for key, value in result.items():
            kind = TYPES.get((docs.get(key) or {}).get("type"))
            if kind is None or value is None:
                continue
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                wrong.append("%s (%s): %r is not %s" % (key, run, value, docs[key]["type"]))
    assert not wrong, "%s: %s" % (name, "; ".join(wrong))


def test_doc_runs_cover_all_modules():
    found = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                   if f.endswith(".py") and not f.startswith("_"))
    assert found == sorted(MODULES), "a new module needs its runs here: %s" % sorted(set(found) - set(MODULES))
