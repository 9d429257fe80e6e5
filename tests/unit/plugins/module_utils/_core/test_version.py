# SPDX-License-Identifier: GPL-3.0-or-later
"""version.py agrees with galaxy.yml."""

import importlib
import os
import re

import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils._core import version


# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])


def test_collection_version_matches_galaxy_yml():
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert (galaxy["namespace"], galaxy["name"]) == ("liveiso", "customizer")
    assert version.COLLECTION_VERSION == str(galaxy["version"])


def test_collection_version_is_semver():
    assert re.match(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$", version.COLLECTION_VERSION)
