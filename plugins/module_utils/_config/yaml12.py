# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""YAML read as the reference reads it (private to this collection).

The reference decodes its config with Go's ``gopkg.in/yaml.v3`` into typed
structs: the YAML 1.2 core schema (no sexagesimal ``12:30``, no ``yes``/``on``
booleans, ``0o644`` octal) plus two compatibility rules of yaml.v3: ``0644`` is
still an octal integer, and a bool field takes ``yes``/``no``/``on``/``off``/
``y``/``n`` too. Into a *string* field yaml.v3 copies the scalar's text, so
``hostname: 12:30``, ``value: 0644`` or ``x: true`` are the strings the author
wrote. PyYAML knows YAML 1.1 only, so this loader has its own resolver table
(the core schema), and every plain number or boolean keeps its source text:
:class:`TextInt`, :class:`TextFloat`, :class:`TextBool` (``str()`` is the text),
which the config model reads as that text where it wants a string.

A config given as a module option arrives already parsed by Ansible (YAML 1.1):
``12:30`` is 750 there and ``yes`` is True, and the text is lost; the model takes
numbers in string fields as their decimal text and refuses booleans there.
"""

from __future__ import annotations

import re
from typing import IO, Any, Callable, Dict, List, Pattern, Tuple, Type, Union

try:
    import yaml
    YAMLError: Type[Exception] = yaml.YAMLError
except ImportError:  # load() says which package to install
    yaml = None
    YAMLError = ValueError

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError

INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"

# The YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), yaml.v3's way:
# underscores in numbers and 1.1's 0644 / 0b101 integers are still read.
_CORE: List[Tuple[str, Pattern[str], str]] = [
    (NULL_TAG, re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    (BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    (INT_TAG, re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)$"), "-+0123456789"),
    (FLOAT_TAG, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
                           r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), "-+.0123456789"),
]
TRUE_WORDS = frozenset({"true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"})
FALSE_WORDS = frozenset({"false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF"})


class _Text(object):
    """What the three scalars share: ``str()`` is the text written, and copies and pickles keep it."""

    text: str
    plain: Callable[[Any], Any]  #: the Python type the value is, without its text

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> Tuple[Any, Tuple[Any, str]]:
        """Copies and pickles keep the text (copy.deepcopy calls __reduce_ex__, which would call __new__ with
        the number only)."""
        return (type(self), (self.plain(self), self.text))


class TextInt(_Text, int):
    """A plain YAML integer that remembers how it was written (``str()`` gives that text)."""

    plain = int

    def __new__(cls, value: int, text: str) -> "TextInt":
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class TextFloat(_Text, float):
    """A plain YAML float that remembers how it was written."""

    plain = float

    def __new__(cls, value: float, text: str) -> "TextFloat":
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class TextBool(_Text, int):
    """A plain YAML ``true``/``false`` that remembers its text (bool cannot be subclassed: an int 0/1)."""

    plain = bool

    def __new__(cls, value: bool, text: str) -> "TextBool":
        obj = super().__new__(cls, 1 if value else 0)
        obj.text = text
        return obj

    def __repr__(self) -> str:
        return "True" if self else "False"


Scalar = Union[TextInt, TextFloat, TextBool]


def source_text(value: Any) -> Union[str, None]:
    """The text a plain scalar was written as, when the loader kept it (None for anything else)."""
    return value.text if isinstance(value, (TextInt, TextFloat, TextBool)) else None


def is_bool(value: Any) -> bool:
    """A boolean: Python's, or a YAML one read by this loader."""
    return isinstance(value, (bool, TextBool))


def _int_value(text: str) -> int:
    plain = text.replace("_", "")
    sign = -1 if plain.startswith("-") else 1
    digits = plain.lstrip("+-")
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)  # yaml.v3 still reads YAML 1.1's 0644 as octal (09: a ValueError, a float)
    return sign * int(digits, 10)


def _float_value(text: str) -> float:
    plain = text.replace("_", "").lower()
    if plain.endswith("inf"):
        return float("-inf") if plain.startswith("-") else float("inf")
    if plain.endswith("nan"):
        return float("nan")
    return float(plain)


def _loader_class() -> Any:
    resolvers: Dict[Any, List[Tuple[str, Pattern[str]]]] = {}
    for tag, pattern, first in _CORE:
        for char in first or [""]:
            resolvers.setdefault(char, []).append((tag, pattern))
    resolvers.setdefault("", []).append((NULL_TAG, _CORE[0][1]))

    def construct_int(loader: Any, node: Any) -> Any:
        text = loader.construct_scalar(node)
        try:
            return TextInt(_int_value(text), text)
        except ValueError:  # 09 and the like: yaml.v3 reads it as a float
            return TextFloat(float(text.replace("_", "")), text)

    def construct_float(loader: Any, node: Any) -> Any:
        text = loader.construct_scalar(node)
        return TextFloat(_float_value(text), text)

    def construct_bool(loader: Any, node: Any) -> Any:
        text = loader.construct_scalar(node)
        return TextBool(text.lower() == "true", text)

    # A SafeLoader with its own resolver and constructor tables (PyYAML has no type hints: made with type())
    loader: Any = type("Yaml12Loader", (yaml.SafeLoader,), {
        "yaml_implicit_resolvers": resolvers,
        "yaml_constructors": dict(yaml.SafeLoader.yaml_constructors),
    })
    loader.add_constructor(INT_TAG, construct_int)
    loader.add_constructor(FLOAT_TAG, construct_float)
    loader.add_constructor(BOOL_TAG, construct_bool)
    # yaml.v3 reads timestamps into string fields as their text: no timestamp resolver, so they stay strings
    return loader


def load(handle: Union[str, IO[str]], what: str = "config_file") -> Any:
    """Parse YAML text or a stream the way the reference does (see the module docstring)."""
    if yaml is None:
        raise ConfigError(what, "PyYAML is not installed on the managed host",
                          "Install python3-yaml (Debian) or PyYAML (pip).")
    return yaml.load(handle, Loader=_loader_class())  # nosec B506: the loader is a SafeLoader
