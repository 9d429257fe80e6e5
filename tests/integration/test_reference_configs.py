# SPDX-License-Identifier: GPL-3.0-or-later
"""Every test configuration of the reference (its own test suite's sample) loads here, through image_customize.

One ansible-playbook run in check mode with one task per config (input: the Debian base image; output: ``.iso``
when the config has ``iso``, ``pxe-dir`` when it has ``pxe``, qcow2 otherwise). The module options ``image``,
``output`` and ``output_format`` win over the config's ``input``/``output``, as the reference's CLI flags do.

The sample holds about half of the reference's configs: a ``baseConfigs`` entry naming a file that is not in the
sample is left out (through a copy of the config with ``config_dir`` at the sample), so the file itself is tested.
Files that are package lists (only ``packages``), not configs, are not fed in.
"""

import os
import re

import pytest

from conftest import REPO, run_playbook

pytestmark = pytest.mark.root

SAMPLE = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "image-customizer", "testdata"))

# Configs that cannot load here, with the exact message a user gets (fewer than 1 in 10 of the sample).
EXPECTED_REFUSED = {}


def _configs():
    if not os.path.isdir(SAMPLE):
        return []
    names = []
    for name in sorted(os.listdir(SAMPLE)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(SAMPLE, name)) as handle:
            text = handle.read()
        if re.match(r"^packages:", text, re.M) and not re.search(r"^(os|storage|iso|pxe|input|output|scripts):",
                                                                 text, re.M):
            continue  # a package list
        names.append(name)
    return names


def _drop_missing_bases(text):
    """The config's text without the ``baseConfigs`` entries whose file is not in the sample."""
    kept, dropped, in_bases = [], False, False
    for line in text.splitlines(True):
        if re.match(r"^[^\s-]", line):
            in_bases = line.startswith("baseConfigs:")
        match = re.match(r"^\s*-\s*path:\s*(\S+)\s*$", line)
        if in_bases and match and not os.path.exists(os.path.join(SAMPLE, match.group(1))):
            dropped = True
            continue
        kept.append(line)
    text = "".join(kept)
    if dropped and not re.search(r"^baseConfigs:\s*\n\s*-", text, re.M):
        text = re.sub(r"^baseConfigs:\s*\n", "", text, flags=re.M)
    return text


def _output_format(text):
    if re.search(r"^iso:", text, re.M):
        return "iso"
    if re.search(r"^pxe:", text, re.M):
        return "pxe-dir"
    return "qcow2"


def _module_has_pxe():
    with open(os.path.join(REPO, "plugins", "modules", "image_customize.py")) as handle:
        return "'pxe-dir'" in handle.read()


def test_sample_is_there():
    if not os.path.isdir(SAMPLE):
        pytest.skip("the reference's sample is not at %s" % SAMPLE)
    assert len(_configs()) >= 80


class _Module(object):
    """What module_glue uses of an AnsibleModule, in check mode."""

    check_mode = True
    _diff = False

    def __init__(self, params):
        self.params = dict(params)
        self.no_log_values = set()
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)


def _params(name, base_dir, tmp_path):
    """The image_customize options for one config: (params, output format)."""
    with open(os.path.join(SAMPLE, name)) as handle:
        text = handle.read()
    fmt = _output_format(text)
    if fmt == "pxe-dir" and not _module_has_pxe():
        fmt = "iso"  # before pxe-dir output exists: the pxe section still loads and validates
    params = {"image": os.path.join(base_dir, "base.qcow2"), "output_format": fmt,
              "output": str(tmp_path / ("%s.%s" % (name[:-5], {"iso": "iso", "qcow2": "qcow2"}.get(fmt, "d"))))}
    trimmed = _drop_missing_bases(text)
    if trimmed != text:
        copy = tmp_path / name
        copy.write_text(trimmed)
        params.update(config_file=str(copy), config_dir=SAMPLE)
    else:
        params.update(config_file=os.path.join(SAMPLE, name), config_dir=None)
    return params, fmt


def _validate(params):
    """What image_customize does in check mode before it hashes its inputs: load, map input/output, inspect."""
    from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs import disk, live_iso
    defaults = dict((key, spec.get("default")) for key, spec in
                    dict(module_glue.BUILD_OPTIONS, **module_glue.LIVE_ISO_OPTIONS).items())
    module = _Module(dict(defaults, config=None, **params))
    config = load_config(None, module.params["config_file"], module.params["config_dir"])
    config = module_glue._config_io(module, config)
    if module.params["output_format"] == "iso":
        live_iso.LiveIsoPipeline().inspect(module_glue._live_request(module, config))
    elif module.params["output_format"] in disk.OUTPUT_FORMATS:
        disk.DiskImagePipeline().inspect(disk.CustomizeRequest(
            image=module.params["image"], output=module.params["output"], config=config,
            output_format=module.params["output_format"], check_mode=True))
    return module


# Through the module too (a check-mode run hashes the input image: seconds each): one of each kind.
THROUGH_MODULE = ("addfiles-config.yaml", "hierarchical-config-base.yaml", "iso-bootstrap-vm-azl4.yaml",
                  "pxe-bootstrap-vm-azl3.yaml", "partitions-btrfs-subvolumes-basic.yaml", "empty-config.yaml",
                  "verity-root-azl4-toolsdir.yaml")


def _check(failed, names):
    unexpected = {name: msg for name, msg in failed.items() if EXPECTED_REFUSED.get(name) != msg}
    assert not unexpected, "\n".join("%s: %s" % (n, m) for n, m in sorted(unexpected.items()))
    missing = set(EXPECTED_REFUSED) & set(names) - set(failed)
    assert not missing, "listed as refused but loads: %s" % sorted(missing)


def test_every_reference_config_loads(base_dir, tmp_path):
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CustomizerError
    names = _configs()
    if not names:
        pytest.skip("the reference's sample is not at %s" % SAMPLE)
    assert len(EXPECTED_REFUSED) * 10 < len(names)
    failed = {}
    for name in names:
        try:
            _validate(_params(name, base_dir, tmp_path)[0])
        except CustomizerError as err:
            failed[name] = str(err)
    _check(failed, names)


def test_reference_configs_through_the_module(base_dir, tmp_path):
    names = [name for name in THROUGH_MODULE if name in _configs()]
    if not names:
        pytest.skip("the reference's sample is not at %s" % SAMPLE)
    tasks = []
    for name in names:
        params = dict((k, v) for k, v in _params(name, base_dir, tmp_path)[0].items() if v is not None)
        tasks.append({"name": name, "liveiso.customizer.image_customize": params})
    rc, results, output = run_playbook(str(tmp_path), tasks, check=True)
    failed = dict((name, result.get("msg")) for name, result in zip(names, results) if result.get("failed"))
    _check(failed, names)
    for name, result in zip(names, results):
        if name not in failed:
            assert result.get("changed") is True and result.get("digest") and "steps" in result, (name, result)
    assert (rc == 0) == (not failed), output[-3000:]
