# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud-init NoCloud seeds: render, validate offline, write idempotently (private to this collection).

A seed is up to four files: meta-data (must carry instance-id), user-data (a cloud-config, a script, MIME
multipart, ...), network-config (version 1 or 2) and vendor-data. Dicts are serialised to YAML (user-data
gets its ``#cloud-config`` header); strings are taken as they are. Validation is offline and structural
here; :mod:`seed_schema` runs the target image's own ``cloud-init schema`` on top.
"""

from __future__ import annotations

import hashlib
import os
import re

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.files import atomic_write
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import register_secret
from ansible_collections.liveiso.customizer.plugins.module_utils._live.initrd import DRACUT_LIVE_MEDIUM

try:
    import yaml
except ImportError:  # reported when a seed is rendered
    yaml = None

FILES = ("meta-data", "user-data", "network-config", "vendor-data")
USER_DATA_HEADERS = ("#cloud-config", "#!", "#include", "#cloud-boothook", "#part-handler", "#cloud-config-archive",
                     "#upstart-job", "## template: jinja", "Content-Type: multipart/")
V1_TYPES = ("physical", "bond", "bridge", "vlan", "nameserver", "route", "infiniband")
V2_SECTIONS = ("ethernets", "bonds", "bridges", "vlans", "wifis", "renderer", "version")
SECRET_KEYS = ("passwd", "password", "private", "chpasswd", "psk", "token", "secret")
MEDIUM_PATHS = {"dracut": DRACUT_LIVE_MEDIUM, "live-boot": "/run/live/medium"}


class SeedError(ConfigError):
    """An invalid seed file: names the file and, where known, the line."""

    def __init__(self, name, message, line=None, hint=None):
        self.file = name
        self.line = line
        super().__init__(name if line is None else "%s: line %d" % (name, line), message, hint)


def _require_yaml():
    if yaml is None:
        raise ConfigError("cloudinit_seed", "PyYAML is not installed on the managed host",
                          "Install python3-yaml (Debian) or PyYAML (pip).")


class _Dumper(yaml.SafeDumper if yaml else object):
    """Block style, no aliases: a seed is read by people too."""

    def ignore_aliases(self, data):
        return True


def dump_yaml(data):
    _require_yaml()
    return yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1000)


def load_yaml(name, text):
    """Parse ``text``; a syntax error becomes a SeedError with the file and line."""
    _require_yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise SeedError(name, "not valid YAML: %s" % problem, line=mark.line + 1 if mark else None)


def _is_secret_key(key):
    return any(marker in str(key).lower() for marker in SECRET_KEYS)


def _register(value, user_list=False):
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


def collect_secrets(data, inside_secret=False):
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


_SECRET_LINE = re.compile(r"""^\s*-?\s*["']?[\w-]*(?:passw|secret|token|private)[\w-]*["']?\s*[:=]\s*(?P<value>\S.*?)\s*$""",
                          re.IGNORECASE)
_CRYPT_HASH = re.compile(r"\$(?:1|2[abxy]?|5|6|y|gy|7)\$[./A-Za-z0-9$=+-]{8,}")


def collect_secrets_from_text(text):
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
        if match:
            value = match.group("value").strip("'\"")
            if value and value not in ("|", ">", "|-", ">-", "[", "{"):
                register_secret(value)
        for token in _CRYPT_HASH.findall(line):
            register_secret(token)


def render_user_data(value, name="user-data"):
    if value is None:
        return None
    if isinstance(value, dict):
        collect_secrets(value)
        return "#cloud-config\n" + dump_yaml(value)
    if not isinstance(value, str):
        raise SeedError(name, "must be a mapping (a cloud-config) or a string")
    collect_secrets_from_text(value)
    return value


def render_mapping_file(name, value):
    if value is None:
        return None
    if isinstance(value, dict):
        return dump_yaml(value)
    if not isinstance(value, str):
        raise SeedError(name, "must be a mapping or a string")
    return value


def validate_user_data(text, name="user-data"):
    stripped = text.lstrip("\ufeff")
    if not stripped.startswith(USER_DATA_HEADERS):
        first = stripped.splitlines()[0] if stripped.strip() else "(empty)"
        raise SeedError(name, "unknown format (first line %r)" % first[:60], line=1,
                        hint="Start it with #cloud-config, a #! script line, or give MIME multipart.")
    if stripped.splitlines()[0].rstrip() == "#cloud-config":
        data = load_yaml(name, stripped)
        if data is not None and not isinstance(data, dict):
            raise SeedError(name, "a #cloud-config must be a mapping, got %s" % type(data).__name__)
        collect_secrets(data or {})


def _check_v1(config):
    entries = config.get("config")
    if not isinstance(entries, list):
        raise SeedError("network-config", "version 1 needs a 'config' list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("type") not in V1_TYPES:
            raise SeedError("network-config", "config[%d]: type must be one of %s" % (index, ", ".join(V1_TYPES)))
        if entry["type"] in ("physical", "bond", "bridge", "vlan") and not entry.get("name"):
            raise SeedError("network-config", "config[%d]: a %s needs a name" % (index, entry["type"]))


def _check_v2(config):
    for key, value in config.items():
        if key not in V2_SECTIONS:
            raise SeedError("network-config", "unknown version 2 key %r" % key,
                            hint="Known: %s." % ", ".join(V2_SECTIONS))
        if key in ("ethernets", "bonds", "bridges", "vlans", "wifis"):
            if not isinstance(value, dict):
                raise SeedError("network-config", "%s must be a mapping of interface names" % key)
            for name, iface in value.items():
                if not isinstance(iface, dict):
                    raise SeedError("network-config", "%s.%s must be a mapping" % (key, name))
                if key == "vlans" and ("id" not in iface or "link" not in iface):
                    raise SeedError("network-config", "vlans.%s needs id and link" % name)
                if key == "bonds" and not iface.get("interfaces"):
                    raise SeedError("network-config", "bonds.%s needs interfaces" % name)


def validate_network_config(text):
    data = load_yaml("network-config", text)
    if not isinstance(data, dict):
        raise SeedError("network-config", "must be a mapping with a version")
    if set(data) == {"network"} and isinstance(data["network"], dict):
        data = data["network"]
    version = data.get("version")
    if version == 1:
        _check_v1(data)
    elif version == 2:
        _check_v2(data)
    else:
        raise SeedError("network-config", "version must be 1 or 2, got %r" % (version,))


def validate_meta_data(text):
    data = load_yaml("meta-data", text)
    if not isinstance(data, dict):
        raise SeedError("meta-data", "must be a mapping")
    if not data.get("instance-id"):
        raise SeedError("meta-data", "has no instance-id", hint="cloud-init needs it; changing it re-runs first boot.")


def stable_instance_id(host, files):
    """iid-<16 hex>: the same host and seed content give the same id; any change gives a new one."""
    digest = hashlib.sha256((host or "").encode())
    for name in sorted(files):
        if files[name] is not None:
            digest.update(("\0%s\0" % name).encode() + files[name].encode())
    return "iid-" + digest.hexdigest()[:16]


def render_seed(meta_data=None, user_data=None, network_config=None, vendor_data=None, instance_id=None, host=None):
    """{file name: text} for a NoCloud seed, validated; meta-data always present with an instance-id."""
    files = {
        "user-data": render_user_data(user_data),
        "network-config": render_mapping_file("network-config", network_config),
        "vendor-data": render_user_data(vendor_data, "vendor-data"),
    }
    if files["user-data"] is None:
        files["user-data"] = "#cloud-config\n{}\n"
    if meta_data is not None and not isinstance(meta_data, (str, dict)):
        raise SeedError("meta-data", "must be a mapping or YAML text")
    meta = load_yaml("meta-data", meta_data) if isinstance(meta_data, str) else dict(meta_data or {})
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise SeedError("meta-data", "must be a mapping")
    if isinstance(meta_data, str) and meta.get("instance-id") and not instance_id:
        files["meta-data"] = meta_data  # taken as it is
    else:
        meta["instance-id"] = instance_id or meta.get("instance-id") or stable_instance_id(
            host, dict(files, **{"meta-data": dump_yaml(meta)}))
        files["meta-data"] = dump_yaml(meta)
    validate_meta_data(files["meta-data"])
    validate_user_data(files["user-data"])
    if files["network-config"] is not None:
        validate_network_config(files["network-config"])
    if files["vendor-data"] is not None:
        validate_user_data(files["vendor-data"], "vendor-data")
    return {name: text for name, text in files.items() if text is not None}


def file_mode(name):
    return 0o600 if name in ("user-data", "vendor-data") else 0o644


def write_seed(dest, files, check_mode=False, show_secrets=False):
    """Write each file whose content differs (atomically); return (changed names, diffs)."""
    changed, diffs = [], []
    for name in FILES:
        path = os.path.join(dest, name)
        if name not in files:
            if os.path.isfile(path):  # rendered by an earlier run, no longer part of the seed
                changed.append(name)
                diffs.append({"before_header": path, "after_header": "(removed)",
                              "before": _shown_text(name, path, show_secrets), "after": ""})
                if not check_mode:
                    os.unlink(path)
            continue
        try:
            with open(path) as handle:
                before = handle.read()
        except FileNotFoundError:
            before = None
        if before == files[name]:
            continue
        changed.append(name)
        if show_secrets or name in ("meta-data", "network-config"):
            diffs.append({"before_header": path, "after_header": path, "before": before or "",
                          "after": files[name]})
        else:
            diffs.append({"before_header": path, "after_header": path,
                          "before": _summary(before), "after": _summary(files[name])})
        if not check_mode:
            os.makedirs(dest, exist_ok=True)
            atomic_write(path, files[name], file_mode(name))
    return changed, diffs


def _shown_text(name, path, show_secrets):
    with open(path) as handle:
        text = handle.read()
    return text if show_secrets or name in ("meta-data", "network-config") else _summary(text)


def _summary(text):
    if text is None:
        return ""
    return "(%d lines, sha256 %s; content hidden: set show_secrets to see it)\n" % (
        len(text.splitlines()), hashlib.sha256(text.encode()).hexdigest()[:16])


def config_fragment(placement, seed_dir, medium=DRACUT_LIVE_MEDIUM, media_dir="/cloud-init-data", files=FILES):
    """The configuration fragment that puts this seed on the ISO or in the root filesystem (iso-support.md)."""
    present = [name for name in FILES if name in files]
    if placement == "iso":
        return {
            "scripts": {"postCustomization": [{
                "name": "cloud-init-seed-link",
                "content": "set -e\nmkdir -p /var/lib/cloud/seed/\n"
                           "ln -s -T -f %s%s /var/lib/cloud/seed/nocloud\n" % (medium, media_dir)}]},
            "iso": {"additionalFiles": {os.path.join(seed_dir, name): "%s/%s" % (media_dir, name) for name in present},
                    "kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]}},
        }
    return {
        "os": {"kernelCommandLine": {"extraCommandLine": ["ds=nocloud"]},
               "additionalFiles": {os.path.join(seed_dir, name): "/var/lib/cloud/seed/nocloud/%s" % name
                                   for name in present}},
    }
