# SPDX-License-Identifier: GPL-3.0-or-later
"""Every key the modules return in real runs (as root, through ansible-playbook) is in their RETURN docs, with
the documented type, and the keys documented 'returned: always' are there.

The unit test tests/unit/conventions/test_return_docs.py covers every kind of result with the root-only steps
faked; this runs the real thing for each output kind: a disk image customized (a tiny image), a Live ISO built
from the base image through image_customize (output_format iso), the remaster fast path of liveos_iso, a seed
validated with the ISO's own cloud-init; each rerun (up to date) and in check mode. About two minutes, most of
it the one full ISO build.
"""

import importlib
import os

import pytest
import yaml

from conftest import run_playbook
from tiny_images import make_disk, tiny_root_tree

pytestmark = pytest.mark.root

# Added by AnsibleModule or Ansible itself (Ansible's common return values), not in any RETURN.
COMMON = {"changed", "failed", "invocation", "warnings", "deprecations", "exception", "skipped", "diff"}
TYPES = {"str": str, "int": int, "float": (int, float), "bool": bool, "list": list, "dict": dict}
LEVEL = 3  # fast zstd, as the other ISO tests


def documented(module):
    plugin = importlib.import_module("ansible_collections.liveiso.customizer.plugins.modules." + module)
    return yaml.safe_load(plugin.RETURN)


def task(module, **params):
    return {"name": module, "liveiso.customizer." + module: params}


def runs(workdir, module, params, check_too=True):
    """{run name: result} of: build, rerun (up to date), check mode (up to date)."""
    build, rerun = run_playbook(workdir, [task(module, **params), task(module, **params)])[1]
    found = {"build": build, "rerun": rerun}
    if check_too:
        found["check mode"] = run_playbook(workdir, [task(module, **params)], check=True)[1][0]
    for name, result in found.items():
        assert not result.get("failed"), "%s %s failed: %s" % (module, name, result.get("msg"))
    return found


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return str(tmp_path_factory.mktemp("returned"))


@pytest.fixture(scope="module")
def results(base_dir, work):
    """[(module, run name, result)] for every output kind."""
    found = []
    tiny = make_disk(os.path.join(work, "tiny.raw"), tiny_root_tree(os.path.join(work, "tiny-tree")))
    disk = runs(work, "image_customize", dict(image=tiny, output=os.path.join(work, "tiny.qcow2"),
                                              build_dir=os.path.join(work, "bd"),
                                              config={"os": {"hostname": "returned-keys"}}))
    found += [("image_customize", "disk image, " + name, result) for name, result in disk.items()]

    base_iso = os.path.join(work, "base.iso")
    live = runs(work, "image_customize", dict(image=os.path.join(base_dir, "base.qcow2"), output=base_iso,
                                              output_format="iso", compression_level=LEVEL, config={}))
    found += [("image_customize", "Live ISO, " + name, result) for name, result in live.items()]
    assert live["build"]["build_path"] == "full"

    site = runs(work, "liveos_iso", dict(image=base_iso, output=os.path.join(work, "site.iso"),
                                         build_dir=os.path.join(work, "bd"),
                                         iso={"additionalFiles": [{"content": "site\n", "destination": "/site.txt"}]}))
    found += [("liveos_iso", "remaster, " + name, result) for name, result in site.items()]
    assert site["build"]["build_path"] == "remaster" and site["build"]["copy_method"]

    seed = runs(work, "cloudinit_seed", dict(dest=os.path.join(work, "seed"), host="h1",
                                             meta_data={"local-hostname": "h1"}, user_data={"users": [{"name": "ops"}]},
                                             validate_with_image=base_iso), check_too=False)
    found += [("cloudinit_seed", "validated with the image, " + name, result) for name, result in seed.items()]
    return found


@pytest.mark.parametrize("module", ["image_customize", "liveos_iso", "cloudinit_seed"])
def test_real_results_match_the_return_docs(results, module):
    docs = documented(module)
    always = {key for key, doc in docs.items() if str(doc.get("returned")).strip() == "always"}
    problems = []
    for name, run, result in results:
        if name != module:
            continue
        problems += ["%s: undocumented key %s" % (run, key) for key in sorted(set(result) - COMMON - set(docs))]
        problems += ["%s: 'returned: always' key %s missing" % (run, key) for key in sorted(always - set(result))]
        for key, value in result.items():
            kind = TYPES.get((docs.get(key) or {}).get("type"))
            if kind is not None and value is not None and (
                    not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
                problems.append("%s: %s is %r, not %s" % (run, key, value, docs[key]["type"]))
    assert not problems, "%s:\n%s" % (module, "\n".join(problems))
