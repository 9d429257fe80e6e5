# SPDX-License-Identifier: GPL-3.0-or-later
"""version.py agrees with galaxy.yml."""

import os
import re

import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils._core import version


def _repo_root():
    """The collection's root (the directory holding galaxy.yml), wherever this test file sits."""
    here = os.path.dirname(os.path.abspath(__file__))
    while not os.path.isfile(os.path.join(here, "galaxy.yml")) and here != os.path.dirname(here):
        here = os.path.dirname(here)
    return here


REPO = _repo_root()


def test_collection_version_matches_galaxy_yml():
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert (galaxy["namespace"], galaxy["name"]) == ("liveiso", "customizer")
    assert version.COLLECTION_VERSION == str(galaxy["version"])


def test_collection_version_is_semver():
    assert re.match(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$", version.COLLECTION_VERSION)
