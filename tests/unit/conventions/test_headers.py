# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Python file under plugins/, tests/ and benchmarks/ carries the SPDX license line in its header.

"""

import os


SPDX = "# SPDX-License-Identifier: GPL-3.0-or-later"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TREES = ("plugins", "tests", "benchmarks")
SKIP_DIRS = {"__pycache__", "output"}  # tests/output: ansible-test's results in its copy of the collection


def python_files():
    found = []
    for tree in TREES:
        for directory, dirs, files in os.walk(os.path.join(ROOT, tree)):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(directory, d)))
            found += [os.path.join(directory, f) for f in sorted(files) if f.endswith(".py")]
    return found


def header(path):
    """The leading comment lines (shebang, coding, copyright, license)."""
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            lines.append(line.rstrip("\n"))
    return lines


def test_every_python_file_has_the_spdx_line():
    # Empty files are exempt: sanity's empty-init test wants plugins' __init__.py files empty.
    files = [path for path in python_files() if os.path.getsize(path)]
    assert files, "no Python files found under %s" % ", ".join(TREES)
    missing = [os.path.relpath(path, ROOT) for path in files if SPDX not in header(path)]
    assert not missing, "%d of %d Python files lack %r in their header: %s" % (
        len(missing), len(files), SPDX, ", ".join(missing))
