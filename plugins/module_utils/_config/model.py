# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The configuration model: the reference (Image Customizer) format, validated once (private to this collection).

:func:`load_config` takes the raw mapping (the module's ``config`` option or
the YAML of ``config_file``), validates it strictly and returns frozen
dataclasses. Every error names the full key path, e.g.
``config.os.additionalFiles[1].permissions: '999' is not an octal mode``.
Steps only ever see these typed objects, never raw dicts.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Dict, FrozenSet, List, Literal, Mapping, Optional, Set, Tuple, Type, TypeVar, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._config import reference_keys, yaml12
from ansible_collections.liveiso.customizer.plugins.module_utils._config.yaml12 import YAMLError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.safe_path import image_path
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import register_secret

if TYPE_CHECKING:  # the section modules import this one
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.io import IoConfig
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.pxe import PxeConfig
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.storage import StorageConfig

ROOT: str = "config"
# Keys of the reference format this collection does not implement (yet): a clear
# "not supported" instead of "unknown key".
UNSUPPORTED: Mapping[str, FrozenSet[str]] = {
    "config": frozenset(),
    "config.os": frozenset(),
    "config.iso": frozenset(),
}
HOSTNAME_RE: re.Pattern[str] = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                                          r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
NAME_RE: re.Pattern[str] = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
PACKAGE_RE: re.Pattern[str] = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._:~=<>*-]*$")
UNIT_RE: re.Pattern[str] = re.compile(r"^[A-Za-z0-9@_.:\\-]+$")
ENV_RE: re.Pattern[str] = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MODULE_NAME_RE: re.Pattern[str] = re.compile(r"^[A-Za-z0-9_-]+$")  # kernel module and parameter names


def load_yaml(handle: Union[str, IO[str]]) -> Any:
    """Safe-load YAML as the reference does: the YAML 1.2 core schema, plain scalars keeping their text
    (see :mod:`.yaml12`): ``12:30`` stays ``12:30``, ``permissions: 0644`` the octal mode the author wrote."""
    return yaml12.load(handle)


# ---------------------------------------------------------------- closed sets

_Choice = StrEnum  # a closed set of the config: members are the strings the config names them by


class PasswordType(_Choice):
    """``users[].password.type``."""

    LOCKED = "locked"  #: no password (``usermod --lock``); a value given is ignored
    PLAIN_TEXT = "plain-text"
    HASHED = "hashed"  #: a crypt(3) hash (``chpasswd --encrypted``)
    PLAIN_TEXT_FORCED_EXPIRATION = "plain-text-forced-expiration"
    HASHED_FORCED_EXPIRATION = "hashed-forced-expiration"
    PLAIN_TEXT_FILE = "plain-text-file"  #: the value names a file (relative to the config) holding the password
    HASHED_FILE = "hashed-file"  #: the value names a file holding a crypt(3) hash

    @property
    def needs_value(self) -> bool:
        return self is not PasswordType.LOCKED

    @property
    def from_file(self) -> bool:
        """Is the value a path whose file holds the password (read when the config is loaded)?"""
        return self in (PasswordType.PLAIN_TEXT_FILE, PasswordType.HASHED_FILE)

    @property
    def hashed(self) -> bool:
        """Is the password a crypt(3) hash (``chpasswd --encrypted``)?"""
        return self in (PasswordType.HASHED, PasswordType.HASHED_FORCED_EXPIRATION, PasswordType.HASHED_FILE)

    @property
    def forced_expiration(self) -> bool:
        """Must the user change the password at the first login?"""
        return self in (PasswordType.PLAIN_TEXT_FORCED_EXPIRATION, PasswordType.HASHED_FORCED_EXPIRATION)


class LoadMode(_Choice):
    """``modules[].loadMode``: when the kernel module is loaded."""

    ALWAYS = "always"  #: at every boot (modules-load.d)
    AUTO = "auto"  #: when the kernel asks for it
    DISABLE = "disable"  #: never (blacklisted)
    INHERIT = "inherit"  #: as the image has it

    @property
    def takes_options(self) -> bool:
        """Can the module be given parameters (not when it is never loaded)?"""
        return self is not LoadMode.DISABLE


class InitramfsType(_Choice):
    """``iso.initramfsType``: what the Live ISO's initramfs is."""

    BOOTSTRAP = "bootstrap"  #: a small initramfs that finds and mounts the root filesystem image
    FULL_OS = "full-os"  #: the whole OS in the initramfs


class ServiceState(_Choice):
    """The keys of ``os.services``; each is the systemctl verb applied to the units it lists."""

    ENABLE = "enable"
    DISABLE = "disable"


class SELinuxMode(_Choice):
    """``os.selinux.mode``."""

    DISABLED = "disabled"
    PERMISSIVE = "permissive"
    ENFORCING = "enforcing"
    FORCE_ENFORCING = "force-enforcing"  #: enforcing=1 on the kernel command line: the config file cannot relax it

    @property
    def enabled(self) -> bool:
        return self is not SELinuxMode.DISABLED

    @property
    def kernel_args(self) -> Tuple[str, ...]:
        """The reference's SELinux kernel arguments for this mode (replacing any security=/selinux=/enforcing=)."""
        if self is SELinuxMode.DISABLED:
            return ("selinux=0",)
        if self is SELinuxMode.FORCE_ENFORCING:
            return ("security=selinux", "selinux=1", "enforcing=1")
        return ("security=selinux", "selinux=1")

    @property
    def config_value(self) -> str:
        """``SELINUX=`` in /etc/selinux/config."""
        return "enforcing" if self is SELinuxMode.FORCE_ENFORCING else self.value


class ResetType(_Choice):
    """``os.bootloader.resetType`` (older releases: ``os.resetBootLoaderType``)."""

    HARD_RESET = "hard-reset"  #: regenerate the boot loader configuration from scratch with the image's tools


_C = TypeVar("_C", bound=_Choice)


# ---------------------------------------------------------------- typed model

@dataclass(frozen=True)
class FileSpec:
    """One file to place: from ``source`` (a host path) or literal ``content``."""
    destination: str
    source: Optional[str] = None
    content: Optional[str] = None
    permissions: Optional[int] = None


@dataclass(frozen=True)
class DirSpec:
    """One host directory to copy into the image."""
    source: str
    destination: str
    new_dir_permissions: Optional[int] = None
    merged_dir_permissions: Optional[int] = None
    child_file_permissions: Optional[int] = None


@dataclass(frozen=True)
class Password:
    type: PasswordType  #: the config's string ("locked", ...) is accepted too
    value: Optional[str] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", PasswordType(self.type))

    @property
    def forced_expiration(self) -> bool:
        return self.type.forced_expiration


@dataclass(frozen=True)
class User:
    name: str
    uid: Optional[int] = None
    password: Optional[Password] = None
    password_expires_days: Optional[int] = None
    ssh_public_keys: Tuple[str, ...] = ()
    primary_group: Optional[str] = None
    secondary_groups: Tuple[str, ...] = ()
    home_directory: Optional[str] = None
    startup_command: Optional[str] = None


@dataclass(frozen=True)
class Group:
    name: str
    gid: Optional[int] = None


@dataclass(frozen=True)
class Packages:
    remove: Tuple[str, ...] = ()
    update_existing: bool = False
    install: Tuple[str, ...] = ()
    update: Tuple[str, ...] = ()
    snapshot_time: Optional[str] = None  #: RFC 3339 UTC ("2025-05-20T23:59:59Z"); a date alone is its midnight
    remove_package_manager: bool = False

    @property
    def any(self) -> bool:
        return bool(self.remove or self.update_existing or self.install or self.update)


@dataclass(frozen=True)
class KernelModule:
    name: str
    load_mode: Optional[LoadMode] = None  #: the config's string ("always", ...) is accepted too
    options: Tuple[Tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.load_mode is not None:
            object.__setattr__(self, "load_mode", LoadMode(self.load_mode))


@dataclass(frozen=True)
class Script:
    name: str
    interpreter: str = "/bin/sh"
    path: Optional[str] = None  #: the host file (for reading and the digest)
    content: Optional[str] = None
    arguments: Tuple[str, ...] = ()
    environment: Tuple[Tuple[str, str], ...] = ()
    config_path: Optional[str] = None  #: ``path`` as written: relative to the config dir, run as /_imageconfigs/<it>


@dataclass(frozen=True)
class Overlay:
    """One ``os.overlays[]`` entry: an overlayfs mount written to the image's fstab."""
    mount_point: str
    lower_dirs: Tuple[str, ...]
    upper_dir: str
    work_dir: str
    is_initrd_overlay: bool = False
    mount_dependencies: Tuple[str, ...] = ()
    mount_options: Optional[str] = None


@dataclass(frozen=True)
class OSConfig:
    hostname: Optional[str] = None
    packages: Packages = Packages()
    additional_files: Tuple[FileSpec, ...] = ()
    additional_dirs: Tuple[DirSpec, ...] = ()
    users: Tuple[User, ...] = ()
    groups: Tuple[Group, ...] = ()
    services_enable: Tuple[str, ...] = ()
    services_disable: Tuple[str, ...] = ()
    modules: Tuple[KernelModule, ...] = ()
    kernel_extra_args: Tuple[str, ...] = ()
    selinux_mode: Optional[SELinuxMode] = None  #: None: the image's mode is kept
    image_history: bool = True  #: write /usr/share/image-customizer/history.json (``imageHistory: none``: don't)
    bootloader_reset: Optional[ResetType] = None
    overlays: Tuple[Overlay, ...] = ()
    uki_mode: Optional[str] = None  #: ``os.uki.mode``: parsed and validated; building UKIs is not done yet

    @property
    def empty(self) -> bool:
        return self == OSConfig()


@dataclass(frozen=True)
class ScriptsConfig:
    post_customization: Tuple[Script, ...] = ()
    finalize_customization: Tuple[Script, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.post_customization or self.finalize_customization)


@dataclass(frozen=True)
class IsoConfig:
    additional_files: Tuple[FileSpec, ...] = ()
    kernel_extra_args: Tuple[str, ...] = ()
    initramfs_type: InitramfsType = InitramfsType.BOOTSTRAP  #: the config's string ("full-os") is accepted too
    present: bool = False
    kdump_boot_files: Optional[str] = None  #: none or keep (the kdump-boot-files preview feature)

    def __post_init__(self) -> None:
        object.__setattr__(self, "initramfs_type", InitramfsType(self.initramfs_type))


def _storage_default() -> "StorageConfig":
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.storage import StorageConfig
    return StorageConfig()


def _io_default() -> "IoConfig":
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.io import IoConfig
    return IoConfig()


@dataclass(frozen=True)
class Config:
    os: OSConfig = OSConfig()
    scripts: ScriptsConfig = ScriptsConfig()
    iso: IsoConfig = IsoConfig()
    base_dir: Optional[str] = None
    pxe: Optional["PxeConfig"] = None
    storage: "StorageConfig" = field(default_factory=_storage_default)
    io: "IoConfig" = field(default_factory=_io_default)
    preview_features: Tuple[str, ...] = ()

    def unsupported_key(self) -> Optional[str]:
        """The first key this config uses whose behaviour is not built yet (None when all can be built)."""
        if self.storage.unsupported_key():
            return self.storage.unsupported_key()
        if self.iso.initramfs_type is InitramfsType.FULL_OS:
            return "iso.initramfsType: full-os"
        if self.iso.kdump_boot_files == "keep":
            return "iso.kdumpBootFiles: keep"
        if self.os.uki_mode is not None:
            return "os.uki: %s" % self.os.uki_mode
        for key, value in (("output.artifacts", self.io.artifacts), ("output.selinuxPolicyPath",
                                                                     self.io.selinux_policy_path)):
            if value:
                return key
        return None

    @property
    def customizes_root(self) -> bool:
        """Does this config change the root filesystem (os or scripts sections)?"""
        return not (self.os.empty and self.scripts.empty)

    def referenced_files(self) -> List[str]:
        """Host files and directories whose content determines the output (for the input digest)."""
        pxe_files = self.pxe.additional_files if self.pxe is not None else ()
        paths = [f.source for f in self.os.additional_files + self.iso.additional_files + pxe_files if f.source]
        paths += [d.source for d in self.os.additional_dirs]
        paths += [s.path for s in self.scripts.post_customization + self.scripts.finalize_customization if s.path]
        return sorted(set(paths))


# ---------------------------------------------------------------- validation helpers

def _type_name(value: object) -> str:
    if isinstance(value, yaml12.TextBool):
        return "a boolean"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null", yaml12.TextInt: "an integer",
            yaml12.TextFloat: "a number"}.get(type(value), type(value).__name__)


def _mapping(value: Any, path: str, known: Set[str]) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a mapping, got %s" % _type_name(value))
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(path, "key %r is not a string" % (key,))
        ref = reference_keys.lookup("%s.%s" % (path, key))
        unsupported = key in UNSUPPORTED.get(path.split("[")[0], frozenset())
        if unsupported or (ref is not None and key not in known):
            raise ConfigError("%s.%s" % (path, key), "is not supported by liveiso.customizer (not supported yet%s)"
                              % ((": %s" % ref.note) if ref is not None and ref.note else ""),
                              "Remove it; docs/configuration.md lists what each key of the format does here.")
        if key not in known:
            raise ConfigError("%s.%s" % (path, key), "unknown key",
                              "Supported here: %s." % ", ".join(sorted(known)))
    return value


def _free_mapping(value: Any, path: str) -> Dict[str, Any]:
    """A mapping with arbitrary string keys (module options, environment variables)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a mapping, got %s" % _type_name(value))
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(path, "key %r is not a string" % (key,))
    return value


def _split_args(value: str, path: str) -> List[str]:
    try:
        return shlex.split(value)
    except ValueError as err:
        raise ConfigError(path, "cannot be split into arguments: %s" % err, "Give a list of strings instead.")


def _str(value: Any, path: str, allow_empty: bool = False) -> str:
    """A string field. As in the reference, a plain YAML number or boolean there is the text written; an
    integer or number from a module option (already parsed by Ansible) is its text too, a boolean is refused
    (``yes``, ``on`` and ``true`` are indistinguishable once Ansible has read them)."""
    text = yaml12.source_text(value)
    if text is not None:
        value = text
    elif isinstance(value, bool):
        raise ConfigError(path, "must be a string, got a boolean",
                          "Quote the value: Ansible reads unquoted yes/no/on/off/true/false as booleans.")
    elif isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigError(path, "must be a string, got %s" % _type_name(value))
    if not allow_empty and not value:
        raise ConfigError(path, "must not be empty")
    return value


def _bool(value: Any, path: str) -> bool:
    """A bool field: true/false, and (as the reference's YAML library does for bool fields) yes/no/on/off/y/n."""
    if isinstance(value, yaml12.TextBool):
        return bool(value)
    if isinstance(value, str) and value in yaml12.TRUE_WORDS | yaml12.FALSE_WORDS:
        return value in yaml12.TRUE_WORDS
    if not isinstance(value, bool):
        raise ConfigError(path, "must be true or false, got %s" % _type_name(value))
    return value


def _int(value: Any, path: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    if yaml12.is_bool(value) or not isinstance(value, int):
        raise ConfigError(path, "must be an integer, got %s" % _type_name(value))
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(path, "%d is out of range %s..%s" % (value, minimum, maximum))
    return value


def _list(value: Any, path: str) -> List[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(path, "must be a list, got %s" % _type_name(value))
    return value


def _str_list(value: Any, path: str, pattern: Optional[re.Pattern[str]] = None,
              what: Optional[str] = None) -> Tuple[str, ...]:
    items: List[str] = []
    for index, raw in enumerate(_list(value, path)):
        item = _str(raw, "%s[%d]" % (path, index))
        if pattern is not None and not pattern.match(item):
            raise ConfigError("%s[%d]" % (path, index), "%r is not a valid %s" % (item, what))
        items.append(item)
    return tuple(items)


def _choice(value: Any, path: str, choices: Type[_C]) -> _C:
    text = _str(value, path)
    try:
        return choices(text)
    except ValueError:
        raise ConfigError(path, "%r is not one of %s" % (text, ", ".join(str(choice) for choice in choices))) from None


def parse_mode(value: Any, path: str) -> int:
    """An octal permission string ("644", "0755") -> int. YAML ints like 644 are read as octal digits.

    An unquoted ``0644`` in a playbook reaches us as the number 420 (YAML 1.1 octal); read as digits it
    would be the nonsense mode 0420, so an integer whose owner has fewer rights than group or others
    is refused with the advice to quote it.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        if re.match(r"^[0-7]{1,4}$", text):
            mode = int(text, 8)
            owner, group, other = (mode >> 6) & 7, (mode >> 3) & 7, mode & 7
            if owner | group != owner or owner | other != owner:
                raise ConfigError(path, "%d looks like YAML's reading of an unquoted octal number" % value,
                                  "Quote the mode: permissions: '0644'.")
        value = text
    if not isinstance(value, str):
        raise ConfigError(path, "must be an octal mode string like '644', got %s" % _type_name(value))
    text = value.strip()
    if text.startswith("0o"):
        text = text[2:]
    if not re.match(r"^[0-7]{1,4}$", text):
        raise ConfigError(path, "%r is not an octal mode" % value, "Use a string like '644' or '0755'.")
    return int(text, 8)


class _Paths(object):
    """Resolves host paths in the config against the base directory."""

    def __init__(self, base_dir: Optional[str]) -> None:
        self.base_dir: Optional[str] = base_dir

    def host(self, raw: Any, path: str, kind: Literal["file", "dir"] = "file") -> str:
        value = _str(raw, path)
        if not os.path.isabs(value):
            if not self.base_dir:
                raise ConfigError(path, "relative path %r needs a base directory" % value,
                                  "Set config_dir, or use config_file (its directory is the base).")
            value = os.path.join(self.base_dir, value)
        value = os.path.normpath(value)
        if kind == "file" and not os.path.isfile(value):
            raise ConfigError(path, "file not found: %s" % value)
        if kind == "dir" and not os.path.isdir(value):
            raise ConfigError(path, "directory not found: %s" % value)
        return value


# ---------------------------------------------------------------- sections

def _opt_str(item: Mapping[str, Any], key: str, path: str) -> Optional[str]:
    """``item[key]`` as a string, None when absent or empty (the reference treats an empty string as unset)."""
    value = item.get(key)
    if value is None or value == "":
        return None
    return _str(value, "%s.%s" % (path, key))


def _host_source(paths: _Paths, raw: Any, path: str, kind: Literal["file", "dir"], what: str) -> str:
    """A host source path; the reference's message when it exists but is of the wrong kind."""
    value = _str(raw, path)
    full = value if os.path.isabs(value) else os.path.join(paths.base_dir, value) if paths.base_dir else None
    if full is not None and os.path.exists(full):
        if kind == "file" and not os.path.isfile(full):
            raise ConfigError(path, "%s source file is not a file (source='%s')" % (what, value),
                              "Give a regular file (a directory goes under os.additionalDirs).")
        if kind == "dir" and not os.path.isdir(full):
            raise ConfigError(path, "%s source exists but is a file (source='%s')" % (what, value),
                              "Give a directory (a single file goes under os.additionalFiles).")
    elif full is not None and kind == "dir":
        raise ConfigError(path, "%s source does not exist (source='%s')" % (what, value))
    return paths.host(value, path, kind=kind)


def _destination(raw: Any, path: str) -> str:
    """An image path; a relative one is joined under / (the reference joins it with the image's root)."""
    if isinstance(raw, str) and raw and not raw.startswith("/"):
        raw = "/" + raw
    return image_path(raw, path)


def _file_specs(value: Any, path: str, paths: _Paths) -> Tuple[FileSpec, ...]:
    """``additionalFiles`` in the list form or in the older map form."""
    specs: List[FileSpec] = []
    if isinstance(value, dict):
        for source, target in value.items():
            entry_path = '%s["%s"]' % (path, source)
            source_path = _host_source(paths, source, entry_path, "file", "additionalFiles")
            targets = target if isinstance(target, list) else [target]
            if not targets:
                raise ConfigError(entry_path, "lists no destination")
            for index, item in enumerate(targets):
                item_path = entry_path if not isinstance(target, list) else "%s[%d]" % (entry_path, index)
                if isinstance(item, str):
                    specs.append(FileSpec(destination=_destination(item, item_path), source=source_path))
                elif isinstance(item, dict):
                    entry = _mapping(item, item_path, {"path", "permissions"})
                    if "path" not in entry:
                        raise ConfigError(item_path + ".path", "is required")
                    specs.append(FileSpec(
                        destination=_destination(entry["path"], item_path + ".path"), source=source_path,
                        permissions=parse_mode(entry["permissions"], item_path + ".permissions")
                        if "permissions" in entry else None))
                else:
                    raise ConfigError(item_path, "must be a destination path or {path, permissions}, got %s"
                                      % _type_name(item))
        return tuple(specs)
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"source", "content", "destination", "permissions"})
        source = _opt_str(item, "source", item_path)  # an empty source is unset; empty content is a value
        if (source is None) == (item.get("content") is None):
            raise ConfigError(item_path, "needs exactly one of source and content")
        if _opt_str(item, "destination", item_path) is None:
            raise ConfigError(item_path + ".destination", "is required")
        specs.append(FileSpec(
            destination=_destination(item["destination"], item_path + ".destination"),
            source=_host_source(paths, source, item_path + ".source", "file", "additionalFiles")
            if source is not None else None,
            content=_str(item["content"], item_path + ".content", allow_empty=True)
            if item.get("content") is not None else None,
            permissions=parse_mode(item["permissions"], item_path + ".permissions")
            if item.get("permissions") not in (None, "") else None,
        ))
    return tuple(specs)


def _dir_specs(value: Any, path: str, paths: _Paths) -> Tuple[DirSpec, ...]:
    specs: List[DirSpec] = []
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"source", "destination", "newDirPermissions", "mergedDirPermissions",
                                         "childFilePermissions"})
        for required in ("source", "destination"):
            if required not in item:
                raise ConfigError("%s.%s" % (item_path, required), "is required")

        def mode(key: str) -> Optional[int]:
            return parse_mode(item[key], "%s.%s" % (item_path, key)) if item.get(key) not in (None, "") else None

        specs.append(DirSpec(
            source=_host_source(paths, item["source"], item_path + ".source", "dir", "additionalDirs"),
            destination=_destination(item["destination"], item_path + ".destination"),
            new_dir_permissions=mode("newDirPermissions"),
            merged_dir_permissions=mode("mergedDirPermissions"),
            child_file_permissions=mode("childFilePermissions"),
        ))
    return tuple(specs)


def _package_list_files(value: Any, path: str, paths: _Paths) -> Tuple[str, ...]:
    names: List[str] = []
    for index, item in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        list_file = paths.host(item, item_path)
        try:
            with open(list_file) as handle:
                data = load_yaml(handle)
        except (OSError, YAMLError) as err:
            raise ConfigError(item_path, "cannot read package list %s: %s" % (list_file, err))
        listed = _mapping(data, "%s(%s)" % (item_path, list_file), {"packages"})
        names += _str_list(listed.get("packages"), "%s(%s).packages" % (item_path, list_file), PACKAGE_RE,
                           "package name")
    return tuple(names)


def _packages(value: Any, path: str, paths: _Paths) -> Packages:
    section = _mapping(value, path, {"install", "remove", "update", "updateExistingPackages", "installLists",
                                     "removeLists", "updateLists", "snapshotTime", "removePackageManager"})

    def names(key: str) -> Tuple[str, ...]:
        return (_str_list(section.get(key), "%s.%s" % (path, key), PACKAGE_RE, "package name")
                + _package_list_files(section.get(key + "Lists"), "%s.%sLists" % (path, key), paths))

    return Packages(
        remove=names("remove"),
        update_existing=_bool(section["updateExistingPackages"], path + ".updateExistingPackages")
        if "updateExistingPackages" in section else False,
        install=names("install"),
        update=names("update"),
        snapshot_time=_snapshot_time(section.get("snapshotTime"), path + ".snapshotTime"),
        remove_package_manager=_bool(section["removePackageManager"], path + ".removePackageManager")
        if section.get("removePackageManager") is not None else False,
    )


def _snapshot_time(value: Any, path: str) -> Optional[str]:
    """``packages.snapshotTime``: YYYY-MM-DD (its midnight, UTC) or RFC 3339 -> RFC 3339 in UTC, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):  # an unquoted timestamp read by a YAML 1.1 loader
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(value, datetime.date):
        moment = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    else:
        text = _str(value, path)
        try:
            if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
                moment = datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
            elif re.match(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", text):
                moment = datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            else:
                raise ValueError(text)
        except ValueError:
            raise ConfigError(path, "invalid snapshot time format: must be YYYY-MM-DD or full RFC3339 "
                              "(e.g., 2024-05-20T15:04:05Z)") from None
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _password(value: Any, path: str, paths: _Paths) -> Password:
    """``users[].password``; for the ``*-file`` types the file is read here (one trailing newline dropped)."""
    pw = _mapping(value, path, {"type", "value"})
    if "type" not in pw:
        raise ConfigError(path + ".type", "is required")
    pw_type = _choice(pw["type"], path + ".type", PasswordType)
    if isinstance(pw.get("value"), str) and pw["value"] and not pw_type.from_file:
        register_secret(pw["value"])
    if not pw_type.needs_value:
        return Password(pw_type)
    if "value" not in pw:
        raise ConfigError(path + ".value", "is required for type %s" % pw_type)
    pw_value = _str(pw["value"], path + ".value")
    if pw_type.from_file:
        value_path = _host_source(paths, pw_value, path + ".value", "file", "password")
        try:
            with open(value_path) as handle:
                pw_value = handle.read()
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(path + ".value", "cannot read the password file %s: %s"
                              % (value_path, getattr(err, "strerror", None) or err))
        pw_value = pw_value[:-1] if pw_value.endswith("\n") else pw_value
        if not pw_value or "\n" in pw_value:
            raise ConfigError(path + ".value", "the password file %s must hold one non-empty line" % value_path)
    register_secret(pw_value)
    return Password(pw_type, pw_value)


def _users(value: Any, path: str, paths: _Paths) -> Tuple[User, ...]:
    users: List[User] = []
    seen: Set[str] = set()
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"name", "uid", "password", "passwordExpiresDays", "sshPublicKeys",
                                         "sshPublicKeyPaths", "primaryGroup", "secondaryGroups",
                                         "homeDirectory", "startupCommand"})
        if "name" not in item:
            raise ConfigError(item_path + ".name", "is required")
        name = _str(item["name"], item_path + ".name")
        if not NAME_RE.match(name):
            raise ConfigError(item_path + ".name", "%r is not a valid user name" % name)
        if name in seen:
            raise ConfigError(item_path + ".name", "user %r is listed twice" % name)
        seen.add(name)
        password = _password(item["password"], item_path + ".password", paths) if "password" in item else None
        keys = list(_str_list(item.get("sshPublicKeys"), item_path + ".sshPublicKeys"))
        for key_index, key_file in enumerate(_list(item.get("sshPublicKeyPaths"), item_path + ".sshPublicKeyPaths")):
            key_path = paths.host(key_file, "%s.sshPublicKeyPaths[%d]" % (item_path, key_index))
            try:
                with open(key_path) as handle:
                    keys += [line.strip() for line in handle if line.strip() and not line.startswith("#")]
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError("%s.sshPublicKeyPaths[%d]" % (item_path, key_index),
                                  "cannot read %s: %s" % (key_path, getattr(err, "strerror", None) or err))
        users.append(User(
            name=name,
            uid=_int(item["uid"], item_path + ".uid", 0, 4294967294) if "uid" in item else None,
            password=password,
            password_expires_days=_int(item["passwordExpiresDays"], item_path + ".passwordExpiresDays", -1, 99999)
            if "passwordExpiresDays" in item else None,
            ssh_public_keys=tuple(keys),
            primary_group=_opt_str(item, "primaryGroup", item_path),
            secondary_groups=_str_list(item.get("secondaryGroups"), item_path + ".secondaryGroups", NAME_RE,
                                       "group name"),
            home_directory=image_path(item["homeDirectory"], item_path + ".homeDirectory")
            if _opt_str(item, "homeDirectory", item_path) else None,
            startup_command=_opt_str(item, "startupCommand", item_path),
        ))
    return tuple(users)


def _groups(value: Any, path: str) -> Tuple[Group, ...]:
    groups: List[Group] = []
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"name", "gid"})
        if "name" not in item:
            raise ConfigError(item_path + ".name", "is required")
        name = _str(item["name"], item_path + ".name")
        if not NAME_RE.match(name):
            raise ConfigError(item_path + ".name", "%r is not a valid group name" % name)
        groups.append(Group(name, _int(item["gid"], item_path + ".gid", 0, 4294967294) if "gid" in item else None))
    return tuple(groups)


def _modules(value: Any, path: str) -> Tuple[KernelModule, ...]:
    modules: List[KernelModule] = []
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"name", "loadMode", "options"})
        if "name" not in item:
            raise ConfigError(item_path + ".name", "is required")
        name = _str(item["name"], item_path + ".name")
        if not MODULE_NAME_RE.match(name):
            raise ConfigError(item_path + ".name", "%r is not a valid kernel module name" % name)
        if any(module.name == name for module in modules):
            raise ConfigError(item_path + ".name", "duplicate module found: %s at index %d" % (name, index),
                              "List each module once, with one loadMode and all its options.")
        options = _free_mapping(item.get("options"), item_path + ".options")
        opts: List[Tuple[str, str]] = []
        for key, val in options.items():
            if not MODULE_NAME_RE.match(key):
                raise ConfigError("%s.options.%s" % (item_path, key), "is not a valid module parameter name")
            if isinstance(val, bool):
                val = "1" if val else "0"
            if not isinstance(val, (str, int)):
                raise ConfigError("%s.options.%s" % (item_path, key), "must be a string or number")
            opts.append((key, str(val)))
        load_mode = _choice(item["loadMode"], item_path + ".loadMode", LoadMode) if item.get("loadMode") else None
        if load_mode is not None and not load_mode.takes_options and opts:
            raise ConfigError(item_path + ".options", "cannot be set on a module whose loadMode is %s" % load_mode)
        modules.append(KernelModule(name, load_mode, tuple(opts)))
    return tuple(modules)


def _kernel_args(value: Any, path: str) -> Tuple[str, ...]:
    section = _mapping(value, path, {"extraCommandLine"})
    extra = section.get("extraCommandLine")
    if extra is None:
        return ()
    if isinstance(extra, str):
        return tuple(_split_args(extra, path + ".extraCommandLine"))
    args = _str_list(extra, path + ".extraCommandLine")
    for index, arg in enumerate(args):
        if "\n" in arg:
            raise ConfigError("%s.extraCommandLine[%d]" % (path, index), "must not contain a newline")
    return args


def _script_path(value: str, path: str, paths: _Paths) -> str:
    """A script's ``path``: local to the config directory (relative, no ``..``), as the reference requires:
    scripts run from the config directory bind-mounted at /_imageconfigs."""
    normal = os.path.normpath(value)
    if os.path.isabs(value) and paths.base_dir and "\x00" not in value:
        # a base config's script path arrives resolved against that file's directory: one inside the config
        # directory is the relative path it was written as
        base = os.path.realpath(paths.base_dir)
        real = os.path.realpath(value)
        if real.startswith(base + os.sep):
            normal = os.path.relpath(real, base)
            value = normal
    if os.path.isabs(value) or normal == ".." or normal.startswith("../") or "\x00" in value:
        raise ConfigError(path, "script file is not under config directory (script='%s', config='%s')"
                          % (value, paths.base_dir or ""),
                          "Put the script in the config file's directory or below and give its relative path.")
    return normal


def _scripts(value: Any, path: str, paths: _Paths) -> Tuple[Script, ...]:
    scripts: List[Script] = []
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"path", "content", "interpreter", "arguments", "environmentVariables",
                                         "name"})
        rel_path, content = _opt_str(item, "path", item_path), _opt_str(item, "content", item_path)
        if rel_path is None and content is None:
            raise ConfigError(item_path, "either path or content must have a value")
        if rel_path is not None and content is not None:
            raise ConfigError(item_path, "path and content may not both have a value")
        script_path = None
        if rel_path is not None:
            rel_path = _script_path(rel_path, item_path + ".path", paths)
            script_path = paths.host(rel_path, item_path + ".path")
        env = _free_mapping(item.get("environmentVariables"), item_path + ".environmentVariables")
        environment: List[Tuple[str, str]] = []
        for key, val in env.items():
            if not ENV_RE.match(key):
                raise ConfigError("%s.environmentVariables.%s" % (item_path, key), "is not a valid variable name")
            if isinstance(val, bool) or not isinstance(val, (str, int, float)):
                raise ConfigError("%s.environmentVariables.%s" % (item_path, key), "must be a string")
            environment.append((key, str(val)))
        interpreter = _opt_str(item, "interpreter", item_path) or "/bin/sh"
        name = _opt_str(item, "name", item_path) or (
            os.path.basename(rel_path) if rel_path else "%s-%d" % (path.rsplit(".", 1)[-1], index))
        arguments = item.get("arguments")
        if isinstance(arguments, str):  # older configs give one string
            arguments = _split_args(arguments, item_path + ".arguments")
        scripts.append(Script(
            name=name,
            interpreter=interpreter,
            path=script_path,
            content=content,
            arguments=_str_list(arguments, item_path + ".arguments"),
            environment=tuple(environment),
            config_path=rel_path,
        ))
    return tuple(scripts)


def _overlay_path(value: Any, path: str) -> str:
    text = _str(value, path, allow_empty=True)
    if not text:
        raise ConfigError(path, "path cannot be empty")
    if any(c in text for c in " \t\n:,"):
        raise ConfigError(path, "path (%s) contains invalid characters (spaces, tabs, newlines, colons, or commas)"
                          % text)
    if not text.startswith("/"):
        raise ConfigError(path, "invalid path (%s): must be an absolute path" % text)
    return image_path(text, path)


def _overlays(value: Any, path: str) -> Tuple[Overlay, ...]:
    """``os.overlays``: validated as the reference does (absolute paths, upper and work distinct and not nested)."""
    overlays: List[Overlay] = []
    for index, raw in enumerate(_list(value, path)):
        item_path = "%s[%d]" % (path, index)
        item = _mapping(raw, item_path, {"mountPoint", "lowerDirs", "upperDir", "workDir", "isInitrdOverlay",
                                         "mountDependencies", "mountOptions"})
        upper = _overlay_path(item.get("upperDir"), item_path + ".upperDir")
        work = _overlay_path(item.get("workDir"), item_path + ".workDir")
        if upper == work:
            raise ConfigError(item_path, "upperDir and workDir must be distinct, but both are '%s'" % upper)
        for one, other, one_key, other_key in ((upper, work, "upperDir", "workDir"), (work, upper, "workDir", "upperDir")):
            if other.startswith(one.rstrip("/") + "/"):
                raise ConfigError(item_path, "%s (%s) should not be a subdirectory of %s (%s)"
                                  % (other_key, other, one_key, one))
        options = _opt_str(item, "mountOptions", item_path)
        if options is not None and any(c in options for c in " \t\n"):
            raise ConfigError(item_path + ".mountOptions", "mountOptions (%s) contain spaces, tabs, or newlines "
                              "are invalid" % options)
        overlays.append(Overlay(
            mount_point=_overlay_path(item.get("mountPoint"), item_path + ".mountPoint"),
            lower_dirs=tuple(_overlay_path(d, "%s.lowerDirs[%d]" % (item_path, i))
                             for i, d in enumerate(_list(item.get("lowerDirs"), item_path + ".lowerDirs"))),
            upper_dir=upper, work_dir=work,
            is_initrd_overlay=_bool(item["isInitrdOverlay"], item_path + ".isInitrdOverlay")
            if item.get("isInitrdOverlay") is not None else False,
            mount_dependencies=tuple(_overlay_path(d, "%s.mountDependencies[%d]" % (item_path, i)) for i, d in
                                     enumerate(_list(item.get("mountDependencies"), item_path + ".mountDependencies"))),
            mount_options=options,
        ))
    return tuple(overlays)


def _boot_keys(section: Mapping[str, Any], path: str) -> Tuple[Optional[SELinuxMode], Optional[ResetType]]:
    """``os.selinux.mode`` and ``os.bootloader.resetType`` (or the older ``os.resetBootLoaderType``)."""
    selinux = _mapping(section.get("selinux"), path + ".selinux", {"mode"})
    mode = _choice(selinux["mode"], path + ".selinux.mode", SELinuxMode) if selinux.get("mode") else None
    bootloader = _mapping(section.get("bootloader"), path + ".bootloader", {"resetType"})
    reset = _choice(bootloader["resetType"], path + ".bootloader.resetType", ResetType) \
        if bootloader.get("resetType") else None
    if section.get("resetBootLoaderType"):
        legacy = _choice(section["resetBootLoaderType"], path + ".resetBootLoaderType", ResetType)
        if reset is not None and reset is not legacy:
            raise ConfigError(path + ".resetBootLoaderType", "conflicts with os.bootloader.resetType",
                              "Give only os.bootloader.resetType (resetBootLoaderType is its older name).")
        reset = legacy
    return mode, reset


def _image_history(value: Any, path: str) -> bool:
    if value is None or value == "":
        return True
    if value != "none":
        raise ConfigError(path, "invalid imageHistory value (%s)" % (value,), "Give none, or leave it out.")
    return False


UKI_MODES: Tuple[str, ...] = ("create", "passthrough", "modify")


def _uki(value: Any, path: str) -> Optional[str]:
    """``os.uki``: its ``mode`` (required), one of the reference's; None without the section."""
    if value is None:
        return None
    section = _mapping(value, path, {"mode"})
    mode = section.get("mode")
    if mode is None or mode == "":
        raise ConfigError(path + ".mode", "is required", "Give one of %s." % ", ".join(UKI_MODES))
    mode = _str(mode, path + ".mode")
    if mode not in UKI_MODES:
        raise ConfigError(path + ".mode", "%r is not one of %s" % (mode, ", ".join(UKI_MODES)))
    return mode


def _os(value: Any, paths: _Paths) -> OSConfig:
    path = ROOT + ".os"
    section = _mapping(value, path, {"hostname", "packages", "additionalFiles", "additionalDirs", "users", "groups",
                                     "services", "modules", "kernelCommandLine", "selinux", "imageHistory",
                                     "bootloader", "resetBootLoaderType", "overlays", "uki"})
    selinux_mode, bootloader_reset = _boot_keys(section, path)
    hostname = _opt_str(section, "hostname", path)
    if hostname is not None:
        if not HOSTNAME_RE.match(hostname):
            raise ConfigError(path + ".hostname", "%r is not a valid DNS host name" % hostname)
    services = _mapping(section.get("services"), path + ".services", {state.value for state in ServiceState})
    units = {state: _str_list(services.get(state.value), "%s.services.%s" % (path, state), UNIT_RE, "unit name")
             for state in ServiceState}
    enable, disable = units[ServiceState.ENABLE], units[ServiceState.DISABLE]
    both = sorted(set(enable) & set(disable))
    if both:
        raise ConfigError(path + ".services", "%s both enabled and disabled" % ", ".join(both))
    return OSConfig(
        hostname=hostname,
        packages=_packages(section.get("packages"), path + ".packages", paths),
        additional_files=_file_specs(section.get("additionalFiles"), path + ".additionalFiles", paths),
        additional_dirs=_dir_specs(section.get("additionalDirs"), path + ".additionalDirs", paths),
        users=_users(section.get("users"), path + ".users", paths),
        groups=_groups(section.get("groups"), path + ".groups"),
        services_enable=enable,
        services_disable=disable,
        modules=_modules(section.get("modules"), path + ".modules"),
        kernel_extra_args=_kernel_args(section.get("kernelCommandLine"), path + ".kernelCommandLine"),
        selinux_mode=selinux_mode,
        image_history=_image_history(section.get("imageHistory"), path + ".imageHistory"),
        bootloader_reset=bootloader_reset,
        overlays=_overlays(section.get("overlays"), path + ".overlays"),
        uki_mode=_uki(section.get("uki"), path + ".uki"),
    )


def _iso(value: Any, paths: _Paths) -> IsoConfig:
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.pxe import kdump_boot_files
    path = ROOT + ".iso"
    present = value is not None
    section = _mapping(value, path, {"additionalFiles", "kernelCommandLine", "initramfsType", "kdumpBootFiles"})
    if section.get("initramfsType") == "":
        del section["initramfsType"]  # the reference treats an empty string as unset
    return IsoConfig(
        kdump_boot_files=kdump_boot_files(section, path),
        additional_files=_file_specs(section.get("additionalFiles"), path + ".additionalFiles", paths),
        kernel_extra_args=_kernel_args(section.get("kernelCommandLine"), path + ".kernelCommandLine"),
        initramfs_type=_choice(section["initramfsType"], path + ".initramfsType", InitramfsType)
        if "initramfsType" in section else InitramfsType.BOOTSTRAP,
        present=present,
    )


def parse_config(data: Any, base_dir: Optional[str] = None) -> Config:
    """Validate the raw mapping ``data`` (parsed YAML or JSON: anything, refused unless a mapping) and return a
    :class:`Config`."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._config import io, preview, pxe, storage
    top = _mapping(data, ROOT, {"os", "scripts", "iso", "pxe", "storage", "input", "output", "previewFeatures",
                                "baseConfigs"})
    if top.get("baseConfigs") is not None:
        raise ConfigError(ROOT + ".baseConfigs", "must be resolved before parsing", "Load it with load_config().")
    features = preview.check(top)
    paths = _Paths(base_dir)
    output = io.parse_output(top.get("output"), base_dir)
    layout = storage.parse_storage(top.get("storage"))
    storage.check_boot_loader_reset(layout, top.get("os"))
    scripts = _mapping(top.get("scripts"), ROOT + ".scripts", {"postCustomization", "finalizeCustomization"})
    return Config(
        os=_os(top.get("os"), paths),
        scripts=ScriptsConfig(
            post_customization=_scripts(scripts.get("postCustomization"), ROOT + ".scripts.postCustomization", paths),
            finalize_customization=_scripts(scripts.get("finalizeCustomization"),
                                            ROOT + ".scripts.finalizeCustomization", paths),
        ),
        iso=_iso(top.get("iso"), paths),
        base_dir=base_dir,
        pxe=pxe.parse_pxe(top["pxe"], paths) if top.get("pxe") is not None else None,
        storage=layout,
        io=dataclasses.replace(output, input_image=io.parse_input(top.get("input"), base_dir)),
        preview_features=features,
    )


def load_config(config: Any = None, config_file: Optional[str] = None, config_dir: Optional[str] = None) -> Config:
    """The module-facing entry: ``config`` (a dict) or ``config_file`` (YAML), and the base directory."""
    if config is not None and config_file is not None:
        raise ConfigError(ROOT, "config and config_file are mutually exclusive")
    if config_file is not None:
        try:
            with open(config_file) as handle:
                config = load_yaml(handle)
        except OSError as err:
            raise ConfigError("config_file", "cannot read %s: %s" % (config_file, err.strerror))
        except YAMLError as err:
            raise ConfigError("config_file", "%s is not valid YAML: %s" % (config_file, err))
        if config_dir is None:
            config_dir = os.path.dirname(os.path.abspath(config_file))
    if config_dir is not None:
        config_dir = os.path.abspath(config_dir)
        if not os.path.isdir(config_dir):
            raise ConfigError("config_dir", "directory not found: %s" % config_dir)
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.base_configs import merge
    return parse_config(merge(config or {}, config_dir), config_dir)
