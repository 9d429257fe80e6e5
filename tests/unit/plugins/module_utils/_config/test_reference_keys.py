# SPDX-License-Identifier: GPL-3.0-or-later
"""reference_keys.py: the one key list; docs/configuration.md's conformance table is generated from it."""

import os
import re

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import reference_keys as rk
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "docs", "configuration.md")
START, END = "<!-- conformance-table:start -->\n", "<!-- conformance-table:end -->"


def test_doc_table_is_the_key_list():
    with open(DOC) as handle:
        text = handle.read()
    table = text[text.index(START) + len(START):text.index(END)]
    if os.environ.get("UPDATE_DOCS") == "1":  # regenerate: UPDATE_DOCS=1 pytest this file
        with open(DOC, "w") as handle:
            handle.write(text.replace(START + table, START + rk.conformance_table()))
        table = rk.conformance_table()
    assert table == rk.conformance_table(), "docs/configuration.md is stale: rerun this test with UPDATE_DOCS=1"


def test_key_list_is_sane():
    paths = [key.path for key in rk.KEYS]
    assert len(paths) == len(set(paths))
    statuses = {rk.SUPPORTED, rk.DIFFERS, rk.NOT_YET, rk.REFUSED}
    for key in rk.KEYS:
        assert key.status in statuses
        assert re.match(r"^[A-Za-z]+(\[\])?(\.[A-Za-z0-9]+(\[\])?)*$", key.path), key.path
        parent = re.sub(r"\[\]$", "", key.path.rsplit(".", 1)[0]) if "." in key.path else None
        assert parent is None or parent in {k.path for k in rk.KEYS}, key.path
    for top in ("input", "storage", "iso", "pxe", "os", "scripts", "previewFeatures", "output", "baseConfigs"):
        assert top in rk.BY_PATH
    assert rk.lookup("config.os.users[3].name").path == "os.users[].name"
    assert rk.lookup("config.os.additionalFiles[2].source").path == "os.additionalFiles[].source"
    assert rk.lookup("config.os.shell") is None


@pytest.mark.parametrize("data,key", [
    ({"previewFeatures": ["uki"], "os": {"uki": {"mode": "create"}}}, "os.uki: create"),
    ({"iso": {"initramfsType": "full-os"}}, "iso.initramfsType: full-os"),
])
def test_reference_key_not_built_yet_loads_and_is_named(data, key):
    """A key whose behaviour is not built loads and validates; the build names it (module_glue refuses it, or
    warns in check mode)."""
    assert parse_config(data).unsupported_key() == key


def test_a_key_not_of_the_reference_is_unknown():
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"pxe": {"bootstrapUrl": "x"}})
