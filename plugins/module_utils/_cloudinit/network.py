# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""network-config checked offline (private to this collection): version 1 and version 2 alike.

Every key's type, the keys each entry needs, MAC addresses, and the interfaces bonds, bridges, VLANs and
VRFs refer to; an unknown key is an error, as it is silently dropped (or the whole entry skipped) at boot.
Messages name the key path: ``network-config: config[2].vlan_id: must be an integer 0-4094, got '10'``.
The key sets are those of cloud-init's network-config schemas (version 1) and of netplan (version 2).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.common import SeedError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.enums import StrEnum

NAME: str = "network-config"
MAC_RE: re.Pattern[str] = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}(?:(?::[0-9A-Fa-f]{2}){2}|"
                                     r"(?::[0-9A-Fa-f]{2}){14})?\Z")  # 6 octets, 8, or 20 (infiniband)
Check = Callable[[Any], Optional[str]]
"""A value check: None when the value is right, else what is wrong with it."""


def _show(value: Any) -> str:
    return "%r (a string)" % value if isinstance(value, str) else "%r" % (value,)


def _bool(value: Any) -> Optional[str]:
    return None if isinstance(value, bool) else "must be true or false, got %s" % _show(value)


def _int(value: Any) -> Optional[str]:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else "must be an integer, got %s" % _show(value)


def _vlan_id(value: Any) -> Optional[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4094
    return None if ok else "must be an integer 0-4094, got %s" % _show(value)


def _str(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value else "must be a non-empty string, got %r" % (value,)


def _mac(value: Any) -> Optional[str]:
    if isinstance(value, str) and MAC_RE.match(value):
        return None
    hint = " (an unquoted MAC in YAML can load as a number: quote it)" if isinstance(value, int) else ""
    return "must be a MAC address such as '52:54:00:12:34:56', got %r%s" % (value, hint)


def _mapping(value: Any) -> Optional[str]:
    return None if isinstance(value, dict) else "must be a mapping, got %s" % type(value).__name__


def _str_list(value: Any) -> Optional[str]:
    ok = isinstance(value, list) and all(isinstance(item, str) and item for item in value)
    return None if ok else "must be a list of strings, got %r" % (value,)


def _str_or_list(value: Any) -> Optional[str]:
    return None if isinstance(value, str) and value else _str_list(value)


def _list_of_mappings(value: Any) -> Optional[str]:
    ok = isinstance(value, list) and all(isinstance(item, dict) for item in value)
    return None if ok else "must be a list of mappings, got %r" % (value,)


def _addresses(value: Any) -> Optional[str]:
    """netplan addresses: strings, or one-key mappings {address: {lifetime, label}}."""
    ok = isinstance(value, list) and all((isinstance(item, str) and item) or (isinstance(item, dict) and len(item) == 1)
                                         for item in value)
    return None if ok else "must be a list of addresses such as 192.0.2.10/24, got %r" % (value,)


def _any(value: Any) -> Optional[str]:
    return None


class NetworkV1Type(StrEnum):
    """The entry types of a version 1 network-config."""

    PHYSICAL = "physical"
    BOND = "bond"
    BRIDGE = "bridge"
    VLAN = "vlan"
    NAMESERVER = "nameserver"
    ROUTE = "route"
    INFINIBAND = "infiniband"
    LOOPBACK = "loopback"

    @property
    def needs_name(self) -> bool:
        """Is it an interface (which needs a name)?"""
        return self not in (NetworkV1Type.NAMESERVER, NetworkV1Type.ROUTE)

    @property
    def keys(self) -> Tuple[Tuple[str, ...], Dict[str, Check]]:
        """(the keys it needs, every key it takes with its check)."""
        return _V1_KEYS[self]


_V1_IFACE: Dict[str, Check] = {"type": _any, "name": _str, "mac_address": _mac, "mtu": _int, "subnets": _list_of_mappings,
                               "accept-ra": _bool}
_V1_ROUTE: Dict[str, Check] = {"type": _any, "network": _str, "destination": _str, "netmask": _str, "gateway": _str,
                               "metric": _int}
_V1_KEYS: Dict[NetworkV1Type, Tuple[Tuple[str, ...], Dict[str, Check]]] = {
    NetworkV1Type.PHYSICAL: (("name",), dict(_V1_IFACE, keep_configuration=_bool, wakeonlan=_bool, params=_mapping)),
    NetworkV1Type.LOOPBACK: (("name",), dict(_V1_IFACE)),
    NetworkV1Type.INFINIBAND: (("name",), dict(_V1_IFACE)),
    # cloud-init 22.4 skips (with a log warning only) a bond without params
    NetworkV1Type.BOND: (("name", "bond_interfaces", "params"),
                         dict(_V1_IFACE, bond_interfaces=_str_list, params=_mapping)),
    NetworkV1Type.BRIDGE: (("name", "bridge_interfaces"),
                           dict(_V1_IFACE, bridge_interfaces=_str_list, params=_mapping)),
    NetworkV1Type.VLAN: (("name", "vlan_link", "vlan_id"), dict(_V1_IFACE, vlan_link=_str, vlan_id=_vlan_id)),
    NetworkV1Type.NAMESERVER: (("address",), {"type": _any, "address": _str_or_list, "search": _str_or_list,
                                              "interface": _str}),
    NetworkV1Type.ROUTE: (("destination",), _V1_ROUTE),  # 22.4 skips a route without destination
}
V1_SUBNET_TYPES: Tuple[str, ...] = ("dhcp4", "dhcp", "dhcp6", "static", "static6", "ipv6_dhcpv6-stateful",
                                    "ipv6_dhcpv6-stateless", "ipv6_slaac", "manual")
_V1_SUBNET: Dict[str, Check] = {
    "type": _any, "control": _str, "address": _str, "netmask": _str, "broadcast": _str, "gateway": _str,
    "dns_nameservers": _str_list, "dns_search": _str_list, "routes": _list_of_mappings, "ipv4": _bool,
    "ipv6": _bool, "metric": _int, "mtu": _int,
}


def _keys(path: str, entry: Mapping[str, Any], known: Mapping[str, Check], needed: Tuple[str, ...] = (),
          what: str = "") -> None:
    """Check each key of ``entry`` against ``known`` and that ``needed`` are there; errors name ``path.key``."""
    for key in needed:
        if entry.get(key) is None or entry.get(key) == "":
            raise SeedError(NAME, "%s: %s needs '%s'" % (path, what or "it", key))
    for key, value in entry.items():
        check = known.get(str(key))
        if check is None:
            raise SeedError(NAME, "%s.%s: unknown key" % (path, key),
                            hint="Known here: %s." % ", ".join(sorted(known)))
        problem = check(value)
        if problem:
            raise SeedError(NAME, "%s.%s: %s" % (path, key, problem))


def _v1_subnets(path: str, subnets: List[Dict[str, Any]]) -> None:
    for index, subnet in enumerate(subnets):
        where = "%s.subnets[%d]" % (path, index)
        kind = subnet.get("type")
        if kind not in V1_SUBNET_TYPES:
            raise SeedError(NAME, "%s.type: must be one of %s, got %r" % (where, ", ".join(V1_SUBNET_TYPES), kind))
        _keys(where, subnet, _V1_SUBNET, ("address",) if kind in ("static", "static6") else (), "a %s subnet" % kind)
        for number, route in enumerate(subnet.get("routes") or []):
            _keys("%s.routes[%d]" % (where, number), route, _V1_ROUTE, ("gateway",), "a route")


def _v1_entry(index: int, entry: Any) -> NetworkV1Type:
    path = "config[%d]" % index
    try:
        kind = NetworkV1Type(entry.get("type") if isinstance(entry, dict) else None)
    except ValueError:
        raise SeedError(NAME, "%s: type must be one of %s" % (path, ", ".join(str(known) for known in NetworkV1Type))
                        ) from None
    needed, known = kind.keys
    _keys(path, entry, known, needed, "a %s" % kind)
    _v1_subnets(path, entry.get("subnets") or [])
    return kind


def check_v1(config: Mapping[str, Any]) -> None:
    """A version 1 network-config: each entry, then the names bonds, bridges, VLANs and nameservers refer to."""
    for key in config:
        if key not in ("version", "config"):
            raise SeedError(NAME, "unknown version 1 key %r" % key, hint="Known: config, version.")
    entries = config.get("config")
    if not isinstance(entries, list):
        raise SeedError(NAME, "version 1 needs a 'config' list")
    names: Dict[str, int] = {}
    for index, entry in enumerate(entries):
        if _v1_entry(index, entry).needs_name:
            if entry["name"] in names:
                raise SeedError(NAME, "config[%d].name: %r is already config[%d]"
                                % (index, entry["name"], names[entry["name"]]))
            names[entry["name"]] = index
    refs = (("bond_interfaces", True), ("bridge_interfaces", True), ("vlan_link", False), ("interface", False))
    for index, entry in enumerate(entries):
        for key, many in refs:
            value = entry.get(key)
            for ref in (value if many else [value]) if value is not None else []:
                if ref not in names:
                    raise SeedError(NAME, "config[%d].%s: %r is no interface of this config" % (index, key, ref),
                                    hint="Known: %s." % (", ".join(sorted(names)) or "none"))


# ---------------------------------------------------------------- version 2 (netplan)

def _nameservers(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return _mapping(value)
    for key, item in value.items():
        if key not in ("addresses", "search"):
            return "has unknown key %r (known: addresses, search)" % key
        problem = _str_list(item)
        if problem:
            return "%s: %s" % (key, problem)
    return None


def _match(value: Any) -> Optional[str]:
    if not isinstance(value, dict):
        return _mapping(value)
    for key, item in value.items():
        check = {"macaddress": _mac, "name": _str, "driver": _str_or_list}.get(key)
        if check is None:
            return "has unknown key %r (known: driver, macaddress, name)" % key
        problem = check(item)
        if problem:
            return "%s: %s" % (key, problem)
    return None


def _routes(value: Any) -> Optional[str]:
    problem = _list_of_mappings(value)
    if problem:
        return problem
    for index, route in enumerate(value):
        if "to" not in route:
            return "[%d] needs 'to' (a destination, or default)" % index
        for key in route:
            if key not in ("to", "via", "from", "metric", "table", "on-link", "scope", "type", "mtu",
                           "congestion-window", "advertised-receive-window", "advmss"):
                return "[%d] has unknown key %r" % (index, key)
    return None


_V2_COMMON: Dict[str, Check] = {key: _bool for key in (
    "dhcp4", "dhcp6", "optional", "critical", "accept-ra", "ipv6-privacy", "ignore-carrier", "neigh-suppress")}
_V2_COMMON.update({
    "renderer": _str, "dhcp4-overrides": _mapping, "dhcp6-overrides": _mapping, "addresses": _addresses,
    "gateway4": _str, "gateway6": _str, "nameservers": _nameservers, "macaddress": _mac, "mtu": _int,
    "ipv6-mtu": _int, "routes": _routes, "routing-policy": _list_of_mappings, "link-local": _str_list,
    "dhcp-identifier": _str, "ipv6-address-generation": _str, "ipv6-address-token": _str,
    "activation-mode": _str, "optional-addresses": _str_list, "openvswitch": _mapping,
})
_V2_PHYSICAL: Dict[str, Check] = dict(_V2_COMMON, match=_match, **{
    "set-name": _str, "wakeonlan": _bool, "emit-lldp": _bool, "receive-checksum-offload": _bool,
    "transmit-checksum-offload": _bool, "tcp-segmentation-offload": _bool, "tcp6-segmentation-offload": _bool,
    "generic-segmentation-offload": _bool, "generic-receive-offload": _bool, "large-receive-offload": _bool,
    "infiniband-mode": _str, "link": _str, "virtual-function-count": _int, "embedded-switch-mode": _str,
    "delay-virtual-functions-rebind": _bool, "auth": _mapping})


class NetworkV2Key(StrEnum):
    """The top-level keys of a version 2 (netplan) network-config."""

    ETHERNETS = "ethernets"
    BONDS = "bonds"
    BRIDGES = "bridges"
    VLANS = "vlans"
    WIFIS = "wifis"
    TUNNELS = "tunnels"  #: netplan renderer only
    VRFS = "vrfs"  #: netplan renderer only
    RENDERER = "renderer"
    VERSION = "version"

    @property
    def lists_interfaces(self) -> bool:
        """Is its value a mapping of interface names to their settings?"""
        return self not in (NetworkV2Key.RENDERER, NetworkV2Key.VERSION)

    @property
    def netplan_only(self) -> bool:
        """Does only the netplan renderer take it? (cloud-init's own renderers fail on it: "No handler found".)"""
        return self in (NetworkV2Key.TUNNELS, NetworkV2Key.VRFS)

    @property
    def keys(self) -> Tuple[Tuple[str, ...], Dict[str, Check]]:
        """(the keys an interface of this section needs, every key it takes with its check)."""
        return _V2_KEYS[self]

    def check_interface(self, name: str, iface: Mapping[str, Any]) -> None:
        """An interface of this section: its keys, their types, the keys it needs."""
        needed, known = self.keys
        _keys("%s.%s" % (self, name), iface, known, needed, "a %s entry" % self.value.rstrip("s"))
        if self is NetworkV2Key.BONDS and not iface.get("interfaces"):
            raise SeedError(NAME, "%s.%s: a bond needs 'interfaces' (its members)" % (self, name))


_V2_KEYS: Dict[NetworkV2Key, Tuple[Tuple[str, ...], Dict[str, Check]]] = {
    NetworkV2Key.ETHERNETS: ((), _V2_PHYSICAL),
    NetworkV2Key.WIFIS: ((), dict(_V2_PHYSICAL, **{"access-points": _mapping, "wakeonwlan": _str_list,
                                                   "regulatory-domain": _str})),
    NetworkV2Key.BONDS: (("interfaces",), dict(_V2_COMMON, interfaces=_str_list, parameters=_mapping)),
    NetworkV2Key.BRIDGES: ((), dict(_V2_COMMON, interfaces=_str_list, parameters=_mapping)),
    NetworkV2Key.VLANS: (("id", "link"), dict(_V2_COMMON, id=_vlan_id, link=_str)),
    NetworkV2Key.TUNNELS: (("mode",), dict(_V2_COMMON, mode=_str, local=_str, remote=_str, ttl=_int, key=_any,
                                           keys=_mapping, mark=_int, port=_any, peers=_list_of_mappings,
                                           **{"private-key": _str, "private-key-flags": _str_list})),
    NetworkV2Key.VRFS: (("table",), dict(_V2_COMMON, table=_int, interfaces=_str_list)),
}


def check_v2(config: Mapping[str, Any]) -> Set[NetworkV2Key]:
    """A version 2 network-config: each section and interface, then the interfaces that others refer to.
    Returns the sections it has (the image check refuses netplan-only ones for other renderers)."""
    sections: Set[NetworkV2Key] = set()
    ids: Dict[str, str] = {}
    for key, value in config.items():
        try:
            section = NetworkV2Key(key)
        except ValueError:
            raise SeedError(NAME, "unknown version 2 key %r" % key,
                            hint="Known: %s." % ", ".join(str(known) for known in NetworkV2Key)) from None
        sections.add(section)
        if section is NetworkV2Key.RENDERER and value not in ("networkd", "NetworkManager"):
            raise SeedError(NAME, "renderer: must be networkd or NetworkManager, got %r" % (value,))
        if not section.lists_interfaces:
            continue
        if not isinstance(value, dict):
            raise SeedError(NAME, "%s must be a mapping of interface names" % section)
        for name, iface in value.items():
            if not isinstance(iface, dict):
                raise SeedError(NAME, "%s.%s must be a mapping" % (section, name))
            if str(name) in ids:
                raise SeedError(NAME, "%s.%s: %r is already defined in %s" % (section, name, name, ids[str(name)]))
            ids[str(name)] = section.value
            section.check_interface(str(name), iface)
    _v2_references(config, ids)
    return sections


def _v2_references(config: Mapping[str, Any], ids: Mapping[str, str]) -> None:
    for section in (NetworkV2Key.BONDS, NetworkV2Key.BRIDGES, NetworkV2Key.VRFS, NetworkV2Key.VLANS):
        for name, iface in (config.get(section.value) or {}).items():
            refs = [("link", iface["link"])] if section is NetworkV2Key.VLANS else \
                [("interfaces", member) for member in iface.get("interfaces") or []]
            for key, ref in refs:
                if ref not in ids:
                    raise SeedError(NAME, "%s.%s.%s: %r is no interface of this config" % (section, name, key, ref),
                                    hint="Known: %s." % ", ".join(sorted(ids)))
                if ref == name:
                    raise SeedError(NAME, "%s.%s.%s: refers to itself" % (section, name, key))


def is_disabled(data: Any) -> bool:
    """``config: disabled`` (also under ``network:``): cloud-init configures no network at all."""
    if isinstance(data, dict) and set(data) == {"network"}:
        data = data["network"]
    return isinstance(data, dict) and data.get("config") == "disabled"


def check_network(data: Any) -> Set[NetworkV2Key]:
    """A parsed network-config (``network:`` wrapper or not); returns the version 2 sections it has."""
    if not isinstance(data, dict):
        raise SeedError(NAME, "must be a mapping with a version")
    if is_disabled(data):
        return set()
    if set(data) == {"network"} and isinstance(data["network"], dict):
        data = data["network"]
    version = data.get("version")
    if version == 1 and not isinstance(version, bool):
        check_v1(data)
        return set()
    if version == 2 and not isinstance(version, bool):
        return check_v2(data)
    raise SeedError(NAME, "version must be 1 or 2, got %r" % (version,))
