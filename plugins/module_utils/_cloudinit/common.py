# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every seed check shares (private to this collection): the seed error and YAML in and out."""

from __future__ import annotations

from typing import Any, Optional

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

try:
    import yaml
except ImportError:  # reported when a seed is rendered
    yaml = None


class SeedError(ConfigError):
    """An invalid seed file: names the file and, where known, the line."""

    def __init__(self, name: str, message: str, line: Optional[int] = None, hint: Optional[str] = None) -> None:
        self.file: str = name
        self.line: Optional[int] = line
        self.detail: str = message  #: the message without the file and line
        super().__init__(name if line is None else "%s: line %d" % (name, line), message, hint)


def require_yaml() -> None:
    if yaml is None:
        raise ConfigError("cloudinit_seed", "PyYAML is not installed on the managed host",
                          "Install python3-yaml (Debian) or PyYAML (pip).")


def _no_aliases(dumper: Any, data: Any) -> bool:
    return True


# Block style, no aliases: a seed is read by people too. (Made with type(): PyYAML has no type hints to subclass.)
_DUMPER: Any = type("_Dumper", (yaml.SafeDumper,), {"ignore_aliases": _no_aliases}) if yaml is not None else None


def dump_yaml(data: Any) -> str:
    require_yaml()
    text: str = yaml.dump(data, Dumper=_DUMPER, default_flow_style=False, sort_keys=False, allow_unicode=True,
                          width=1000)
    return text


def load_yaml(name: str, text: str) -> Any:
    """Parse ``text``; a syntax error becomes a SeedError with the file and line."""
    require_yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise SeedError(name, "not valid YAML: %s" % problem, line=mark.line + 1 if mark else None)
