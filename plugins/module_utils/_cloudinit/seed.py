# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cloud-init NoCloud seeds: render, validate offline, write idempotently (private to this collection).

A seed is up to four files: meta-data (must carry instance-id), user-data (a cloud-config, a script, MIME
multipart, ...), network-config (version 1 or 2) and vendor-data. Dicts are serialised to YAML (user-data
gets its ``#cloud-config`` header); strings are taken as they are. Validation is offline and structural
here; :mod:`schema` runs the target image's own ``cloud-init schema`` on top.
"""

from __future__ import annotations

import dataclasses
import grp
import hashlib
import os
import pwd
import re
import stat
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Sequence, Tuple, TypedDict, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.common import SeedError, dump_yaml, load_yaml
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.network import (
    NetworkV1Type,
    NetworkV2Key,
    check_network,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.userdata import UserDataFormat, check_parts
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import register_secret
from ansible_collections.liveiso.customizer.plugins.module_utils._live.initrd import DRACUT_LIVE_MEDIUM


__all__ = [  # what callers use, the names of common, network and userdata that it re-exports among them
    "ConfigFragment", "FileAttributes", "LiveMedium", "NetworkV1Type", "NetworkV2Key", "Placement", "SeedDiff",
    "SeedError", "SeedFile", "SeedFiles", "SeedInput", "UserDataFormat", "collect_secrets",
    "collect_secrets_from_text", "config_fragment", "dump_yaml", "load_yaml", "parse_mode", "render_mapping_file",
    "render_seed", "render_user_data", "stable_instance_id", "validate_meta_data", "validate_network_config",
    "validate_user_data", "write_seed",
]

SeedInput = Union[str, Mapping[str, Any], None]
"""One seed file as the module takes it: a mapping (serialised to YAML), text (taken as it is) or nothing."""
SeedFiles = Dict[str, str]
"""A rendered seed: {file name: text}, the names those of :class:`SeedFile`."""
ConfigFragment = Dict[str, Any]
"""Raw configuration in the reference format: what the modules' ``config`` option (and ``load_config``) take."""

SECRET_KEYS: Tuple[str, ...] = ("passwd", "password", "private", "chpasswd", "psk", "token", "secret")
MODE_RE: re.Pattern[str] = re.compile(r"0?[0-7]{3}\Z")
FLAG_KEYS: Tuple[str, ...] = ("lock_passwd", "ssh_pwauth", "expire", "lock-passwd")
"""Keys that look like secret keys but hold flags (``lock_passwd: false``): never registered."""


class SeedDiff(TypedDict):
    """One entry of the module's ``diff``: a file's text (or its summary, when it holds secrets) before and after."""

    before_header: str
    after_header: str
    before: str
    after: str


class SeedFile(StrEnum):
    """The files of a NoCloud seed, in the order they are written."""

    META_DATA = "meta-data"  #: must carry an instance-id
    USER_DATA = "user-data"
    NETWORK_CONFIG = "network-config"
    VENDOR_DATA = "vendor-data"

    @property
    def holds_secrets(self) -> bool:
        """May it carry passwords and keys (user-data, vendor-data)? Then it is private and hidden in diffs."""
        return self in (SeedFile.USER_DATA, SeedFile.VENDOR_DATA)

    @property
    def mode(self) -> int:
        """The file mode it is written with."""
        return 0o600 if self.holds_secrets else 0o644


class LiveMedium(StrEnum):
    """Where a live system's initramfs mounts its boot medium (the ``iso`` placement links the seed there)."""

    DRACUT = DRACUT_LIVE_MEDIUM  #: dracut's dmsquash-live
    LIVE_BOOT = "/run/live/medium"  #: Debian's live-boot


class Placement(StrEnum):
    """Where the seed goes (the ``placement`` option); each placement makes the config fragment that puts it there."""

    ISO = "iso"  #: on the ISO media; a post-customization script links /var/lib/cloud/seed/nocloud to it
    ROOTFS = "rootfs"  #: in the root filesystem's /var/lib/cloud/seed/nocloud

    def fragment(self, seed_dir: str, names: Sequence[str], medium: str, media_dir: str) -> ConfigFragment:
        """The fragment for the seed files ``names`` in ``seed_dir``; ``medium`` and ``media_dir`` place it on
        the ISO."""
        if self is Placement.ISO:
            return {
                "scripts": {"postCustomization": [{
                    "name": "cloud-init-seed-link",
                    "content": "set -e\nmkdir -p /var/lib/cloud/seed/\n"
                               "ln -s -T -f %s%s /var/lib/cloud/seed/nocloud\n" % (medium, media_dir)}]},
                "iso": {"additionalFiles": {os.path.join(seed_dir, name): "%s/%s" % (media_dir, name)
                                            for name in names},
                        "kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]}},
            }
        return {
            "os": {"kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]},
                   "additionalFiles": {os.path.join(seed_dir, name): "/var/lib/cloud/seed/nocloud/%s" % name
                                       for name in names}},
        }


def _is_secret_key(key: object) -> bool:
    name = str(key).lower()
    return name not in FLAG_KEYS and any(marker in name for marker in SECRET_KEYS)


def _register(value: str, user_list: bool = False) -> None:
    """Register a secret string and each long line of a multi-line one (PEM bodies); of chpasswd's
    "user:password" lines only the passwords."""
    for line in value.splitlines():
        line = line.strip()
        if user_list:
            if ":" in line:
                register_secret(line.split(":", 1)[1].strip())
        elif len(line) >= 16 and not line.startswith("-----"):
            register_secret(line)
    if not user_list:
        register_secret(value)


def collect_secrets(data: Any, inside_secret: bool = False) -> None:
    """Register the values of password/key-like keys anywhere in a user-data structure as secrets.

    Inside such a key (``chpasswd``, ``ssh_private_keys``) only values that are themselves secret are taken:
    ``chpasswd.users[].password`` and ``chpasswd.list`` lines, not the user names.
    """
    if isinstance(data, dict):
        for key, value in data.items():
            user_list = inside_secret and key == "list"  # chpasswd's "user:password" lines
            secret = _is_secret_key(key) or user_list
            if isinstance(value, str):
                if secret:
                    _register(value, user_list)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        if secret:
                            _register(item, user_list)
                    else:
                        collect_secrets(item, inside_secret or _is_secret_key(key))
            else:
                collect_secrets(value, inside_secret or _is_secret_key(key))
    elif isinstance(data, list):
        for item in data:
            collect_secrets(item, inside_secret)


_SECRET_LINE: re.Pattern[str] = re.compile(
    r"""^\s*-?\s*["']?(?P<key>[\w-]*(?:passw|secret|token|private)[\w-]*)["']?\s*[:=]\s*(?P<value>\S.*?)\s*$""",
    re.IGNORECASE)
_CRYPT_HASH: re.Pattern[str] = re.compile(r"\$(?:1|2[abxy]?|5|6|y|gy|7)\$[./A-Za-z0-9$=+-]{8,}")


def collect_secrets_from_text(text: str) -> None:
    """Register secret-looking parts of user-data given as text, before (or without) parsing it.

    Text may not parse (a syntax error is reported with its line), and may be a script or MIME multipart:
    password/secret/token/private-key assignments, crypt(3) hashes and PEM private key bodies are taken.
    """
    in_key = False
    for line in text.splitlines():
        stripped = line.strip()
        if "PRIVATE KEY-----" in stripped:
            in_key = "BEGIN" in stripped
            continue
        if in_key and stripped:
            register_secret(stripped)
            continue
        match = _SECRET_LINE.match(line)
        if match and match.group("key").lower() not in FLAG_KEYS:
            value = match.group("value").strip("'\"")
            if value and value not in ("|", ">", "|-", ">-", "[", "{"):
                register_secret(value)
        for token in _CRYPT_HASH.findall(line):
            register_secret(token)


def render_user_data(value: SeedInput, name: str = SeedFile.USER_DATA.value) -> Optional[str]:
    """user-data (or vendor-data) as text: a mapping becomes a ``#cloud-config``, text is taken as it is."""
    if value is None:
        return None
    if isinstance(value, dict):
        collect_secrets(value)
        return UserDataFormat.CLOUD_CONFIG.value + "\n" + dump_yaml(value)
    if not isinstance(value, str):
        raise SeedError(name, "must be a mapping (a cloud-config) or a string")
    collect_secrets_from_text(value)
    return value


def render_mapping_file(name: str, value: SeedInput) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, dict):
        return dump_yaml(value)
    if not isinstance(value, str):
        raise SeedError(name, "must be a mapping or a string")
    return value


def validate_user_data(text: str, name: str = SeedFile.USER_DATA.value) -> None:
    """Check user-data (or vendor-data) as cloud-init will read it (:mod:`userdata`); register the secrets of
    every cloud-config in it."""
    for data in check_parts(text, name):
        collect_secrets(data)


def validate_network_config(text: str) -> None:
    check_network(load_yaml(SeedFile.NETWORK_CONFIG.value, text))


def validate_meta_data(text: str) -> None:
    data = load_yaml("meta-data", text)
    if not isinstance(data, dict):
        raise SeedError("meta-data", "must be a mapping")
    if not data.get("instance-id"):
        raise SeedError("meta-data", "has no instance-id", hint="cloud-init needs it; changing it re-runs first boot.")


def stable_instance_id(host: Optional[str], files: Mapping[str, Optional[str]]) -> str:
    """iid-<16 hex>: the same host and seed content give the same id; any change gives a new one."""
    digest = hashlib.sha256((host or "").encode())
    for name in sorted(files):
        text = files[name]
        if text is not None:
            digest.update(("\0%s\0" % name).encode() + text.encode())
    return "iid-" + digest.hexdigest()[:16]


def render_seed(meta_data: SeedInput = None, user_data: SeedInput = None, network_config: SeedInput = None,
                vendor_data: SeedInput = None, instance_id: Optional[str] = None,
                host: Optional[str] = None) -> SeedFiles:
    """{file name: text} for a NoCloud seed, validated; meta-data always present with an instance-id."""
    meta_name, user_name = SeedFile.META_DATA.value, SeedFile.USER_DATA.value
    network_name, vendor_name = SeedFile.NETWORK_CONFIG.value, SeedFile.VENDOR_DATA.value
    files: Dict[str, Optional[str]] = {
        user_name: render_user_data(user_data),
        network_name: render_mapping_file(network_name, network_config),
        vendor_name: render_user_data(vendor_data, vendor_name),
    }
    user_text = files[user_name]
    if user_text is None:
        user_text = files[user_name] = UserDataFormat.CLOUD_CONFIG.value + "\n{}\n"
    if meta_data is not None and not isinstance(meta_data, (str, dict)):
        raise SeedError(meta_name, "must be a mapping or YAML text")
    meta = load_yaml(meta_name, meta_data) if isinstance(meta_data, str) else dict(meta_data or {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise SeedError(meta_name, "must be a mapping")
    if isinstance(meta_data, str) and meta.get("instance-id") and not instance_id:
        meta_text = meta_data  # taken as it is
    else:
        meta["instance-id"] = instance_id or meta.get("instance-id") or stable_instance_id(
            host, dict(files, **{meta_name: dump_yaml(meta)}))
        meta_text = dump_yaml(meta)
    files[meta_name] = meta_text
    validate_meta_data(meta_text)
    validate_user_data(user_text)
    network_text, vendor_text = files[network_name], files[vendor_name]
    if network_text is not None:
        validate_network_config(network_text)
    if vendor_text is not None:
        validate_user_data(vendor_text, vendor_name)
    return {name: text for name, text in files.items() if text is not None}


def parse_mode(value: Union[int, str, None], option: str, default: int) -> int:
    """A file mode option: an octal string (``'0600'``, ``'640'``) or an int already octal (YAML's ``0600``)."""
    if value is None:
        return default
    if isinstance(value, str) and MODE_RE.match(value.strip()):
        mode = int(value.strip(), 8)
    elif isinstance(value, int) and not isinstance(value, bool):
        mode = value
    else:
        raise ConfigError(option, "must be an octal mode such as '0600', got %r" % (value,),
                          "Give it as a quoted octal string.")
    if not 0 <= mode <= 0o777:
        raise ConfigError(option, "must be a mode between 0000 and 0777, got %04o (%r)" % (mode, value),
                          "An unquoted 600 in YAML is the decimal number 600: write '0600'.")
    return mode


def _resolve_id(value: Union[int, str, None], option: str, by_name: Callable[[str], int]) -> Optional[int]:
    if value is None or value == "":
        return None
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    try:
        return by_name(str(value))
    except KeyError:
        raise ConfigError(option, "no such %s on the managed host: %r" % (option, value)) from None


@dataclasses.dataclass(frozen=True)
class FileAttributes:
    """The mode and ownership seed files are written with (and restored to when somebody changed them)."""

    mode: int = 0o600  #: user-data and vendor-data: password hashes and keys
    public_mode: int = 0o644  #: meta-data and network-config
    uid: Optional[int] = None  #: None: not managed (new files belong to the user the module runs as)
    gid: Optional[int] = None

    @classmethod
    def from_options(cls, mode: Union[int, str, None] = None, public_mode: Union[int, str, None] = None,
                     owner: Union[int, str, None] = None, group: Union[int, str, None] = None) -> FileAttributes:
        return cls(mode=parse_mode(mode, "mode", cls.mode),
                   public_mode=parse_mode(public_mode, "public_mode", cls.public_mode),
                   uid=_resolve_id(owner, "owner", lambda name: pwd.getpwnam(name).pw_uid),
                   gid=_resolve_id(group, "group", lambda name: grp.getgrnam(name).gr_gid))

    def mode_of(self, member: SeedFile) -> int:
        return self.mode if member.holds_secrets else self.public_mode

    def drift(self, member: SeedFile, path: str) -> List[Tuple[str, str, str]]:
        """What differs in ``path``'s mode and ownership: [(what, is, should be)], empty when nothing does."""
        info = os.lstat(path)
        changes = []
        if stat.S_IMODE(info.st_mode) != self.mode_of(member):
            changes.append(("mode", "%04o" % stat.S_IMODE(info.st_mode), "%04o" % self.mode_of(member)))
        if self.uid is not None and info.st_uid != self.uid:
            changes.append(("owner", str(info.st_uid), str(self.uid)))
        if self.gid is not None and info.st_gid != self.gid:
            changes.append(("group", str(info.st_gid), str(self.gid)))
        return changes

    def apply(self, member: SeedFile, path: str) -> None:
        if self.uid is not None or self.gid is not None:
            os.chown(path, -1 if self.uid is None else self.uid, -1 if self.gid is None else self.gid)
        os.chmod(path, self.mode_of(member))

    @property
    def owner(self) -> Optional[Tuple[int, int]]:
        """(uid, gid) for :func:`atomic_write`, -1 for the one not managed; None when neither is."""
        if self.uid is None and self.gid is None:
            return None
        return (-1 if self.uid is None else self.uid, -1 if self.gid is None else self.gid)


def _read(path: str) -> Optional[str]:
    """The text of ``path``; None when there is no regular file (a symlink is replaced, not followed)."""
    if os.path.islink(path) or not os.path.isfile(path):
        return None
    with open(path) as handle:
        return handle.read()


def _write_one(member: SeedFile, path: str, text: str, check_mode: bool, show_secrets: bool,
               attributes: FileAttributes) -> Optional[SeedDiff]:
    """Write (or restore the mode and ownership of) one file; its diff, or None when it is as it should be."""
    before = _read(path)
    if before == text:
        drift = attributes.drift(member, path)
        if not drift:
            return None
        if not check_mode:
            attributes.apply(member, path)
        shown = text if show_secrets or not member.holds_secrets else _summary(text)
        return SeedDiff(before_header="%s (%s)" % (path, ", ".join("%s %s" % (what, was) for what, was, _n in drift)),
                        after_header="%s (%s)" % (path, ", ".join("%s %s" % (what, new) for what, _w, new in drift)),
                        before=shown, after=shown)
    if not check_mode:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, text, attributes.mode_of(member), attributes.owner)
    if show_secrets or not member.holds_secrets:
        return SeedDiff(before_header=path, after_header=path, before=before or "", after=text)
    return SeedDiff(before_header=path, after_header=path, before=_summary(before), after=_summary(text))


def write_seed(dest: str, files: Mapping[str, str], check_mode: bool = False, show_secrets: bool = False,
               attributes: Optional[FileAttributes] = None) -> Tuple[List[str], List[SeedDiff]]:
    """Write each file whose content differs (atomically: temp file, fsync, rename), restore the mode and
    ownership of the others where they drifted, remove the seed files no longer rendered; return (changed
    names, diffs). Check mode reports the same and touches nothing."""
    attributes = attributes or FileAttributes()
    changed: List[str] = []
    diffs: List[SeedDiff] = []
    for member in SeedFile:
        name = member.value
        path = os.path.join(dest, name)
        if name not in files:
            if os.path.isfile(path) or os.path.islink(path):  # rendered by an earlier run, no longer in the seed
                changed.append(name)
                diffs.append(SeedDiff(before_header=path, after_header="(removed)",
                                      before=_shown_text(member, path, show_secrets), after=""))
                if not check_mode:
                    os.unlink(path)
            continue
        diff = _write_one(member, path, files[name], check_mode, show_secrets, attributes)
        if diff is not None:
            changed.append(name)
            diffs.append(diff)
    return changed, diffs


def _shown_text(member: SeedFile, path: str, show_secrets: bool) -> str:
    text = _read(path) or ""
    return text if show_secrets or not member.holds_secrets else _summary(text)


def _summary(text: Optional[str]) -> str:
    if text is None:
        return ""
    return "(%d lines, sha256 %s; content hidden: set show_secrets to see it)\n" % (
        len(text.splitlines()), hashlib.sha256(text.encode()).hexdigest()[:16])


def config_fragment(placement: Union[str, Placement], seed_dir: str, medium: str = LiveMedium.DRACUT.value,
                    media_dir: str = "/cloud-init-data", files: Collection[str] = tuple(SeedFile)) -> ConfigFragment:
    """The configuration fragment that puts this seed on the ISO or in the root filesystem (iso-support.md)."""
    return Placement(placement).fragment(seed_dir, [name.value for name in SeedFile if name in files], medium,
                                         media_dir)
