# SPDX-License-Identifier: GPL-3.0-or-later
"""The library's layout: families in pipeline order, imports only down or sideways, no Ansible below the glue.

    _core -> _config -> _image -> _iso -> _live -> _build -> _outputs | _cloudinit -> module_glue

A file may import from its own family and from families to its left; ``_outputs`` and ``_cloudinit`` sit
side by side (neither imports the other). Only module_glue (and the modules) may import ``ansible``.
"""

import ast
import importlib
import os
import sys

import pytest


# the collection root, wherever this file sits (the checkout, or ansible-test's copy of it)
REPO = os.path.realpath(list(importlib.import_module("ansible_collections.liveiso.customizer").__path__)[0])
LIB = os.path.join(REPO, "plugins", "module_utils")
PKG = "ansible_collections.liveiso.customizer.plugins.module_utils"
ORDER = {"_core": 0, "_config": 1, "_image": 2, "_iso": 3, "_live": 4, "_build": 5, "_outputs": 6, "_cloudinit": 6,
         "module_glue": 7}


def library_files():
    for root, _dirs, files in os.walk(LIB):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.relpath(os.path.join(root, name), LIB)


def family(relpath):
    first = relpath.split(os.sep)[0]
    return first[:-3] if first.endswith(".py") else first


def imports(relpath):
    with open(os.path.join(LIB, relpath)) as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []


def test_every_file_is_in_a_family():
    strays = [f for f in library_files() if family(f) not in ORDER and f != "__init__.py"]
    assert strays == []
    for name in ORDER:
        if name.startswith("_"):
            assert os.path.isfile(os.path.join(LIB, name, "__init__.py")), name


@pytest.mark.parametrize("relpath", sorted(library_files()))
def test_imports_go_down_or_sideways(relpath):
    mine = family(relpath)
    if mine not in ORDER:
        return
    for module, names in imports(relpath):
        if module.split(".")[0] == "ansible":
            assert mine == "module_glue", "%s imports %s: only module_glue may use Ansible" % (relpath, module)
            continue
        if not module.startswith(PKG):
            continue
        rest = module[len(PKG):].lstrip(".")
        targets = [rest.split(".")[0]] if rest else names
        for target in targets:
            if target == mine or target not in ORDER:
                continue
            assert ORDER[target] < ORDER[mine], "%s (%s) imports %s: up, or across from a sibling" % (
                relpath, mine, module + ("" if rest else "." + target))


def test_the_layer_test_can_fail(tmp_path, monkeypatch):
    """The check above, on a file that imports upwards, finds it."""
    bad = tmp_path / "_core"
    bad.mkdir()
    (bad / "bad.py").write_text("from %s._outputs.disk import customize_image\n" % PKG)
    monkeypatch.setattr(sys.modules[__name__], "LIB", str(tmp_path))
    with pytest.raises(AssertionError, match="up, or across"):
        test_imports_go_down_or_sideways(os.path.join("_core", "bad.py"))
