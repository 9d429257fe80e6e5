# SPDX-License-Identifier: GPL-3.0-or-later
"""Each role's meta/argument_specs.yml lists every variable (so ``ansible-doc -t role`` shows them all).

The main entry point documents every variable of defaults/main.yml (and the required ones that have no
default); cloudinit_config's host_variables entry point documents exactly the host variables the seed filter
knows (plugins/filter/fleet.py HOST_VARIABLES), so a new one cannot be left undocumented.
"""

import importlib
import os

import pytest
import yaml

from ansible_collections.liveiso.customizer.plugins.filter.fleet import HOST_VARIABLES

REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])
TYPES = {"str", "bool", "int", "list", "dict", "path", "raw"}


def load(role, name):
    with open(os.path.join(REPO, "roles", role, *name.split("/"))) as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("role, required", [("cloudinit_config", set()), ("site_iso", {"site_iso_base_image"}),
                                            ("build_host", set())])
def test_main_entry_point_documents_every_default_with_a_type(role, required):
    options = load(role, "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    assert set(options) == set(load(role, "defaults/main.yml")) | required
    for name, option in options.items():
        assert option.get("type") in TYPES and option.get("description"), name
        if option["type"] == "list":
            assert "elements" in option, name


def test_host_variables_are_the_ones_the_seed_filter_knows():
    options = load("cloudinit_config", "meta/argument_specs.yml")["argument_specs"]["host_variables"]["options"]
    assert set(options) == set(HOST_VARIABLES)
    for name, option in options.items():
        assert option.get("type") in TYPES and option.get("description"), name


def test_readme_names_every_host_variable():
    with open(os.path.join(REPO, "roles", "cloudinit_config", "README.md")) as handle:
        readme = handle.read()
    missing = [name for name in HOST_VARIABLES if "`%s`" % name not in readme]
    assert not missing
