# SPDX-License-Identifier: GPL-3.0-or-later
"""site_iso on several build hosts: the sites (or hosts) are spread over the build_hosts group so that every
unit is built exactly once. Renders the role's own units template for two build hosts against the example
inventory's sites (no images are built: this is the distribution logic; tests/integration and molecule build)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import REPO

EXAMPLE = os.path.join(REPO, "inventories", "example", "hosts.yml")


def units_by_builder(tmp_path, builders, per):
    with open(EXAMPLE) as handle:
        inventory = yaml.safe_load(handle)
    inventory["all"]["children"]["build_hosts"]["hosts"] = {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable} for name in builders}
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump(inventory))
    out = tmp_path / "units"
    out.mkdir()
    play = [{
        "hosts": "build_hosts", "gather_facts": False,
        "vars": {"site_iso_per": per, "site_iso_site_pattern": "^site_"},
        "tasks": [{"ansible.builtin.copy": {
            "dest": str(out) + "/{{ inventory_hostname }}.json",
            "content": "{{ lookup('ansible.builtin.template', '%s/roles/site_iso/templates/units.yml.j2') }}" % REPO,
            "mode": "0644"}}],
    }]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inv),
                           str(playbook)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 0, proc.stdout.decode()
    return {name: json.loads((out / (name + ".json")).read_text()) for name in builders}


@pytest.mark.parametrize("per,expected", [
    ("group", ["site_bond", "site_dhcp", "site_static"]),
    ("host", ["bond-c1", "bond-c2", "dhcp-a1", "dhcp-a2", "static-b1", "static-b2"]),
])
def test_units_spread_over_two_build_hosts(tmp_path, per, expected):
    units = units_by_builder(tmp_path, ["builder-1", "builder-2"], per)
    names = {builder: [unit["name"] for unit in mine] for builder, mine in units.items()}
    assert all(names.values()), names  # both build hosts get work
    built = sorted(name for mine in names.values() for name in mine)
    assert built == expected  # every unit exactly once, none twice
    assert abs(len(names["builder-1"]) - len(names["builder-2"])) <= 1


def test_one_build_host_builds_everything(tmp_path):
    units = units_by_builder(tmp_path, ["only"], "group")
    assert [unit["name"] for unit in units["only"]] == ["site_bond", "site_dhcp", "site_static"]
    static = [unit for unit in units["only"] if unit["name"] == "site_static"][0]
    assert static["hosts"] == ["static-b1", "static-b2"]
