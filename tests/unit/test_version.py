"""version.py agrees with galaxy.yml."""

import os
import re

import yaml

from ansible_collections.liveiso.customizer.plugins.module_utils._core import version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_collection_version_matches_galaxy_yml():
    with open(os.path.join(REPO, "galaxy.yml")) as handle:
        galaxy = yaml.safe_load(handle)
    assert (galaxy["namespace"], galaxy["name"]) == ("liveiso", "customizer")
    assert version.COLLECTION_VERSION == str(galaxy["version"])


def test_collection_version_is_semver():
    assert re.match(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$", version.COLLECTION_VERSION)
