# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that compute the data of the site_iso and cloudinit_config roles.

The roles' templates only render; what is computed (which sites a build host builds, the media files of a
site ISO, the manifest, a host's MAC address, the write_files of a seed) is computed here, where it is
tested (tests/unit/plugins/filter/test_fleet_filters.py). Every filter is documented in plugins/filter/<name>.yml.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

display = Display()

COLLECTION = 'liveiso.customizer'
SEED_FILES = ('meta-data', 'user-data', 'network-config')
BY_MAC = '/cloud-init-data/by-mac/'
HOSTS_TABLE = '/cloud-init-data/hosts.txt'
UNIT_PER = ('group', 'host')

_MAC_RE = re.compile(r'[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}', re.IGNORECASE)


def _where(host, variable):
    """'host: variable' for error messages (either part may be unknown)."""
    parts = [to_text(part) for part in (host, variable) if part not in (None, '')]
    return ': '.join(parts) if parts else 'value'


def _jinja_sorted(items):
    """sorted() as Jinja's sort filter does it: strings compared case-insensitively, stable."""
    return sorted(items, key=lambda item: item.lower() if isinstance(item, str) else item)


def _as_list(value, host, variable):
    """A list variable of a host: None (or absent) is an empty list, a string or a mapping is an error."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, '__iter__'):
        raise AnsibleFilterError('%s must be a list, not %s %r' % (_where(host, variable), type(value).__name__, value))
    return list(value)


def _truthy(value, host, variable):
    """A boolean variable: a string is read as Ansible reads booleans (yes/no, true/false, 1/0)."""
    if isinstance(value, str):
        if value.strip() == '':
            return False
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise AnsibleFilterError('%s must be a boolean, not %r' % (_where(host, variable), value)) from None
    return bool(value)


def _sexagesimal(number):
    """The MAC address a YAML 1.1 parser read as a base-60 integer (52:54:00:10:00:01 -> 41135076001), or None."""
    if number <= 0:
        return None
    parts = []
    for dummy in range(5):
        number, part = divmod(number, 60)
        parts.append(part)
    if not 10 <= number <= 99:
        return None
    parts.append(number)
    return ':'.join('%02d' % part for part in reversed(parts))


def mac_address(value, host=None, variable=None, separator=':'):
    """A MAC address checked and normalized: lower case, its six pairs joined by separator; '' for none."""
    if separator not in (':', '-'):
        raise AnsibleFilterError('mac_address: separator must be ":" or "-", not %r' % (separator,))
    if value is None or (isinstance(value, str) and value == ''):
        return ''
    where = _where(host, variable)
    if isinstance(value, int) and not isinstance(value, bool):
        guess = _sexagesimal(value)
        key = (variable or 'cloudinit_mac').rsplit('.', 1)[-1]
        hint = ' (%s: "%s")' % (key, guess) if guess else ''
        raise AnsibleFilterError(
            '%s is the integer %d, not a MAC address: YAML reads an unquoted MAC address whose pairs are all decimal '
            'digits below 60 as a base-60 number. Quote it%s.' % (where, value, hint), obj=value)
    if not isinstance(value, str) or not _MAC_RE.fullmatch(value):
        raise AnsibleFilterError(
            '%s is %r, not a MAC address (6 pairs of hex digits separated by colons, like "52:54:00:12:34:56")'
            % (where, value), obj=value)
    return re.sub('[:-]', separator, value.lower())


def host_mac(hostvars_of_host, host=None):
    """The MAC address that picks a host's seed: cloudinit_mac, else the first cloudinit_interfaces entry with a mac.

    Returned lower case with colons; '' when the host has none (cloudinit_mac set to "" or null, or no
    interface with a mac), so the host has no seed on a site ISO.
    """
    if not isinstance(hostvars_of_host, Mapping):
        raise AnsibleFilterError('host_mac: expects the variables of one host (hostvars[host]), not %s'
                                 % type(hostvars_of_host).__name__)
    if 'cloudinit_mac' in hostvars_of_host:
        return mac_address(hostvars_of_host['cloudinit_mac'], host, 'cloudinit_mac')
    interfaces = _as_list(hostvars_of_host.get('cloudinit_interfaces'), host, 'cloudinit_interfaces')
    for index, interface in enumerate(interfaces):
        if not isinstance(interface, Mapping):
            raise AnsibleFilterError('%s must be a mapping (name, mac, ...), not %r'
                                     % (_where(host, 'cloudinit_interfaces[%d]' % index), interface))
        if 'mac' in interface:
            return mac_address(interface['mac'], host, 'cloudinit_interfaces[%d].mac' % index)
    return ''


def site_units(groups, pattern='^site_', per='group'):
    """Every build unit of the inventory: one per site (per=group) or one per host of a site (per=host).

    Sites are the groups whose name matches pattern (re.match, as the match test does), sorted; a unit is
    {name, site, hosts} with the hosts sorted (both sorted as Jinja's sort filter does: case-insensitively).
    """
    if not isinstance(groups, Mapping):
        raise AnsibleFilterError('site_units: expects the groups mapping (groups), not %s' % type(groups).__name__)
    if per not in UNIT_PER:
        raise AnsibleFilterError('site_iso_per must be group or host, not %r' % (per,))
    try:
        site_re = re.compile(to_text(pattern))
    except re.error as exc:
        raise AnsibleFilterError('site_iso_site_pattern %r is not a regular expression: %s' % (pattern, exc)) from None
    units = []
    for site in _jinja_sorted(name for name in groups if site_re.match(to_text(name))):
        hosts = _jinja_sorted(_as_list(groups[site], None, 'groups[%r]' % (site,)))
        if per == 'group':
            units.append({'name': site, 'site': site, 'hosts': hosts})
        else:
            units.extend({'name': host, 'site': site, 'hosts': [host]} for host in hosts)
    return units


def build_host_units(units, build_host, build_hosts=None):
    """This build host's share of the units: round-robin over build_hosts, in their order.

    Without build_hosts (no such group, or an empty one) build_host builds every unit; a host that is not in
    build_hosts gets the share of the first one.
    """
    units = _as_list(units, None, 'units')
    builders = _as_list(build_hosts, None, 'build_hosts') or [build_host]
    me = builders.index(build_host) if build_host in builders else 0
    return [unit for index, unit in enumerate(units) if index % len(builders) == me]


def site_media_files(unit, hostvars, seeds_dir):
    """The iso.additionalFiles of one site ISO: each host's seed by MAC, then the table hosts.txt.

    For each host of the unit that has a MAC (see host_mac), in order: its seed files
    <seeds_dir>/<host>/{meta-data,user-data,network-config} (and vendor-data when it has cloudinit_vendor_data)
    to /cloud-init-data/by-mac/<mac with dashes>/,
    and a file "host" there with its name. Last, /cloud-init-data/hosts.txt: one "<mac> <host>" line per
    host with a MAC. Hosts without a MAC are left out.
    """
    if not isinstance(unit, Mapping) or 'hosts' not in unit:
        raise AnsibleFilterError('site_media_files: expects a unit ({name, site, hosts}), not %r' % (unit,))
    name = unit.get('name', '?')
    files = []
    table = []
    seen = {}
    for host in _as_list(unit['hosts'], None, 'unit %s: hosts' % name):
        if host not in hostvars:
            raise AnsibleFilterError('site_media_files: host %s of %s is not in the inventory' % (host, name))
        mac = host_mac(hostvars[host], host).replace(':', '-')
        if not mac:
            continue
        if mac in seen:
            raise AnsibleFilterError(
                '%s and %s have the same MAC address %s (cloudinit_mac or cloudinit_interfaces): one ISO, %s, '
                'cannot tell them apart' % (seen[mac], host, mac.replace('-', ':'), name))
        seen[mac] = host
        table.append('%s %s' % (mac, host))
        for seed_file in SEED_FILES + (('vendor-data',) if hostvars[host].get('cloudinit_vendor_data') else ()):
            files.append({'source': '%s/%s/%s' % (seeds_dir, host, seed_file),
                          'destination': '%s%s/%s' % (BY_MAC, mac, seed_file)})
        files.append({'content': '%s\n' % host, 'destination': '%s%s/host' % (BY_MAC, mac)})
    files.append({'content': '\n'.join(table) + '\n', 'destination': HOSTS_TABLE})
    return files


def site_manifest(builds, base, per, build_host):
    """The manifest of one build host's ISOs from the async_status results of the site builds."""
    if not isinstance(base, Mapping) or 'output' not in base:
        raise AnsibleFilterError('site_manifest: the base ISO result (site_iso_base) has no output')
    sites = []
    for build in _as_list(builds, None, 'site_iso_builds.results'):
        try:
            unit = build['item']['item']
        except (KeyError, TypeError):
            raise AnsibleFilterError('site_manifest: expects the results of the wait for the site builds '
                                     '(their item.item is the unit), not %r' % (build,)) from None
        sites.append({
            'site': unit['site'], 'name': unit['name'], 'hosts': unit['hosts'],
            'iso': build.get('output', ''), 'sha256': build.get('sha256', ''), 'size': build.get('size', 0),
            'seconds': build.get('build_seconds', 0), 'build_path': build.get('build_path', ''),
            'copy_method': build.get('copy_method', ''), 'volume_label': build.get('volume_label', ''),
            'build_host': build_host,
        })
    return {'base_iso': base['output'], 'base_sha256': base.get('sha256', ''), 'per': per, 'sites': sites}


def seed_write_files(hostvars_of_host, host=None):
    """The write_files of a host's user-data: /etc/resolv.conf first (cloudinit_write_resolv_conf; for a
    host on DHCP also the DHCP client's config, so the lease does not replace it), then cloudinit_write_files."""
    h = hostvars_of_host
    if not isinstance(h, Mapping):
        raise AnsibleFilterError('seed_write_files: expects the variables of one host (hostvars[host]), not %s'
                                 % type(h).__name__)
    files = []
    write_resolv = h.get('cloudinit_write_resolv_conf', False)
    if _truthy(write_resolv, host, 'cloudinit_write_resolv_conf'):
        servers = _as_list(h.get('cloudinit_dns_servers'), host, 'cloudinit_dns_servers')
        if servers:
            search = _as_list(h.get('cloudinit_dns_search'), host, 'cloudinit_dns_search')
            text = ''.join('nameserver %s\n' % to_text(server) for server in servers)
            if search:
                text += 'search %s\n' % ' '.join(to_text(domain) for domain in search)
            files.append({'path': '/etc/resolv.conf', 'content': text, 'permissions': '0644'})
            if _uses_dhcp(h, host):
                files.append(_dhclient_dns(servers, search))
    return files + _as_list(h.get('cloudinit_write_files'), host, 'cloudinit_write_files')


def _uses_dhcp(h, host):
    """Does the host get an address by DHCP (no interfaces configured, or one with dhcp4)?"""
    interfaces = _as_list(h.get('cloudinit_interfaces'), host, 'cloudinit_interfaces')
    if not interfaces:
        return True
    for variable in NETWORK_KINDS.values():
        for index, device in enumerate(_as_list(h.get(variable), host, variable)):
            where = '%s[%d].dhcp4' % (variable, index)
            if isinstance(device, Mapping) and _truthy(device.get('dhcp4', False), host, where):
                return True
    return False


def _dhclient_dns(servers, search):
    """A DHCP client rewrites /etc/resolv.conf from its lease (ifupdown's dhclient does, after cloud-init's
    write_files ran): it is told to keep the site's DNS servers and search domains instead. Appended to
    /etc/dhcp/dhclient.conf; harmless on images whose DHCP client is another (networkd, NetworkManager read
    the network-config's nameservers)."""
    lines = ['# liveiso.customizer (cloudinit_write_resolv_conf): the site\'s DNS, not the lease\'s',
             'supersede domain-name-servers %s;' % ', '.join(to_text(server) for server in servers)]
    if search:
        lines.append('supersede domain-search %s;' % ', '.join('"%s"' % to_text(domain) for domain in search))
    return {'path': '/etc/dhcp/dhclient.conf', 'content': '\n'.join(lines) + '\n', 'append': True}


def deprecated_variable(value, name, default, hint='', version='1.0.0'):
    """Warn (a deprecation warning) when a deprecated role variable is set to another value than its default.

    Returns the warning's text, or '' when the value is the default.
    """
    if to_text(value) == to_text(default):
        return ''
    msg = '%s is deprecated and has no effect (it is set to %r)%s' % (name, value, '; ' + hint if hint else '')
    display.deprecated(msg, version=version, collection_name=COLLECTION)
    return msg


# --- host variables: validated, then turned into the seed's data -----------------------------------------
#
# Every cloudinit_* variable a host may set, with its kind. host_seed() checks each (type, MAC format, the
# devices a bond, bridge or VLAN names) before anything is rendered and returns plain data that the role's
# templates write with to_nice_yaml, so no value can change its type on the way (a string "0123" stays a
# string, "false" is a boolean false).

NETWORK_KINDS = {'ethernets': 'cloudinit_interfaces', 'bonds': 'cloudinit_bonds', 'bridges': 'cloudinit_bridges',
                 'vlans': 'cloudinit_vlans'}
HOST_VARIABLES = {
    'cloudinit_hostname': 'str', 'cloudinit_domain': 'str', 'cloudinit_mac': 'mac', 'cloudinit_timezone': 'str',
    'cloudinit_users': 'users', 'cloudinit_default_user': 'bool', 'cloudinit_groups': 'groups',
    'cloudinit_chpasswd': 'dict', 'cloudinit_ssh_pwauth': 'bool', 'cloudinit_packages': 'packages',
    'cloudinit_package_update': 'bool', 'cloudinit_package_upgrade': 'bool',
    'cloudinit_package_reboot_if_required': 'bool', 'cloudinit_apt': 'dict', 'cloudinit_apt_proxy': 'str',
    'cloudinit_apt_mirror': 'str', 'cloudinit_apt_sources': 'dict', 'cloudinit_yum_repos': 'dict',
    'cloudinit_ca_certs': 'ca_certs', 'cloudinit_ntp_servers': 'list_str', 'cloudinit_ntp_pools': 'list_str',
    'cloudinit_ntp_client': 'str', 'cloudinit_dns_servers': 'list_str', 'cloudinit_dns_search': 'list_str',
    'cloudinit_write_resolv_conf': 'bool', 'cloudinit_write_files': 'list_dict', 'cloudinit_bootcmd': 'list',
    'cloudinit_runcmd': 'list', 'cloudinit_power_state': 'dict', 'cloudinit_disk_setup': 'dict',
    'cloudinit_fs_setup': 'list_dict', 'cloudinit_mounts': 'mounts', 'cloudinit_growpart': 'dict',
    'cloudinit_vendor_data': 'dict', 'cloudinit_user_data_extra': 'dict', 'cloudinit_network_config_extra': 'dict',
    'cloudinit_interfaces': 'network', 'cloudinit_bonds': 'network', 'cloudinit_bridges': 'network',
    'cloudinit_vlans': 'network',
}
# Variables of the roles themselves, not of a host's seed.
ROLE_PREFIXES = ('cloudinit_config_',)
UNKNOWN_MODES = ('error', 'warn', 'ignore')

# Keys of one network device: the layer-3 keys every kind has, then each kind's own. The value is the kind of
# the value and the key written to network-config.
L3_KEYS = {
    'dhcp4': ('bool', 'dhcp4'), 'dhcp6': ('bool', 'dhcp6'), 'addresses': ('cidrs', 'addresses'),
    'gateway4': ('ip4', 'gateway4'), 'gateway6': ('ip6', 'gateway6'), 'routes': ('routes', 'routes'),
    'dns_servers': ('list_str', None), 'dns_search': ('list_str', None), 'mtu': ('int', 'mtu'),
    'accept_ra': ('bool', 'accept-ra'), 'dhcp4_overrides': ('overrides', 'dhcp4-overrides'),
    'dhcp6_overrides': ('overrides', 'dhcp6-overrides'), 'optional': ('bool', 'optional'),
    'macaddress': ('mac', 'macaddress'),
}
KIND_KEYS = {
    'ethernets': {'name': 'str', 'mac': 'mac'},
    'bonds': {'name': 'str', 'interfaces': 'list_str', 'mode': 'str', 'parameters': 'dict'},
    'bridges': {'name': 'str', 'interfaces': 'list_str', 'parameters': 'dict'},
    'vlans': {'name': 'str', 'id': 'int', 'link': 'str'},
}
ROUTE_KEYS = {'to': 'str', 'via': 'str', 'metric': 'int', 'table': 'int', 'on-link': 'bool', 'from': 'str',
              'scope': 'str', 'type': 'str'}
OVERRIDE_KEYS = {'use-dns': 'bool', 'use-ntp': 'bool', 'use-hostname': 'bool', 'use-routes': 'bool',
                 'use-domains': 'str', 'send-hostname': 'bool', 'hostname': 'str', 'route-metric': 'int',
                 'use-mtu': 'bool'}
USER_KEYS = {
    'name': 'str', 'groups': 'groups_str', 'sudo': 'sudo', 'shell': 'str', 'hashed_password': 'str',
    'plain_text_passwd': 'str', 'lock_passwd': 'bool', 'ssh_authorized_keys': 'list_str', 'ssh_import_id': 'list_str',
    'gecos': 'str', 'primary_group': 'str', 'homedir': 'str', 'uid': 'int', 'system': 'bool',
    'no_create_home': 'bool', 'expiredate': 'str', 'doas': 'list_str',
}
POWER_MODES = ('poweroff', 'reboot', 'halt')


def _typename(value):
    """A value's type as a user reads it in a message."""
    if isinstance(value, bool):
        return 'the boolean %s' % value
    if isinstance(value, int):
        return 'the integer %d' % value
    if isinstance(value, float):
        return 'the number %r' % value
    if isinstance(value, str):
        return 'the string %r' % value
    if isinstance(value, Mapping):
        return 'a mapping'
    if value is None:
        return 'null'
    return 'a %s' % type(value).__name__


def _fail(where, expected, value, hint=''):
    raise AnsibleFilterError('%s must be %s, not %s%s' % (where, expected, _typename(value), hint), obj=value)


def _string(value, where):
    if isinstance(value, str):
        return to_text(value)
    hint = ''
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        hint = (': quote it in YAML (unquoted, YAML reads digits as a number: 0123 is the octal 83, '
                '52:54:00:10:00:01 a base-60 integer)')
    return _fail(where, 'a string', value, hint)


def _integer(value, where):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return _fail(where, 'an integer', value)


def _boolean(value, where):
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)) and not isinstance(value, float):
        try:
            return boolean(value, strict=True)
        except TypeError:
            pass
    return _fail(where, 'a boolean (true/false, yes/no)', value)


def _mapping(value, where):
    if isinstance(value, Mapping):
        return _plain(value)
    return _fail(where, 'a mapping', value)


def _list(value, where):
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
        return _fail(where, 'a list', value)
    return list(value)


def _list_of_strings(value, where):
    return [_string(item, '%s[%d]' % (where, index)) for index, item in enumerate(_list(value, where))]


def _plain(value):
    """A copy of a value as plain dicts, lists and scalars (hostvars hand out their own mapping types)."""
    if isinstance(value, Mapping):
        return {to_text(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return to_text(value)
    return value


def _ip(value, where, version=None, network=False):
    text = _string(value, where)
    try:
        address = ipaddress.ip_interface(text) if network else ipaddress.ip_address(text)
    except ValueError:
        what = 'an IP%s %s' % ('v%d' % version if version else '', 'address with a prefix (10.0.2.21/24)'
                               if network else 'address')
        raise AnsibleFilterError('%s is %r, not %s' % (where, text, what), obj=value) from None
    if network and '/' not in text:
        raise AnsibleFilterError('%s is %r: give the prefix length too (like %s/24)' % (where, text, text), obj=value)
    if version and address.version != version:
        raise AnsibleFilterError('%s is %r, not an IPv%d address' % (where, text, version), obj=value)
    return text


def _check_keys(value, where, allowed):
    """A mapping whose keys are all in allowed; an unknown key fails, with the closest known keys."""
    if not isinstance(value, Mapping):
        _fail(where, 'a mapping', value)
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(to_text(key), sorted(allowed), n=2)
            raise AnsibleFilterError('%s has an unknown key %r%s (known: %s)' % (
                where, key, ' (did you mean %s?)' % ' or '.join(close) if close else '', ', '.join(sorted(allowed))))


def _routes(value, where):
    routes = []
    for index, route in enumerate(_list(value, where)):
        here = '%s[%d]' % (where, index)
        _check_keys(route, here, ROUTE_KEYS)
        for key in ('to', 'via'):
            if key not in route:
                raise AnsibleFilterError('%s needs %r (a route is {to, via})' % (here, key))
        result = {key: _convert(ROUTE_KEYS[key], item, '%s.%s' % (here, key)) for key, item in route.items()}
        if result['to'] != 'default':
            _ip(result['to'], here + '.to', network=True)
        _ip(result['via'], here + '.via')
        routes.append(result)
    return routes


def _overrides(value, where):
    overrides = {to_text(key).replace('_', '-'): item for key, item in _mapping(value, where).items()}
    _check_keys(overrides, where, OVERRIDE_KEYS)
    return {key: _convert(OVERRIDE_KEYS[key], item, '%s.%s' % (where, key)) for key, item in overrides.items()}


def _groups_string(value, where):
    """A user's groups: a list, or a string of names separated by commas ("sudo,adm")."""
    if isinstance(value, str):
        return [name.strip() for name in value.split(',') if name.strip()]
    return _list_of_strings(value, where)


def _sudo(value, where):
    if value is False or isinstance(value, str):
        return value
    return _list_of_strings(value, where)


def _top_groups(value, where):
    """Top-level groups: names, or {group: [members]} mappings."""
    groups = []
    for index, item in enumerate(_list(value, where)):
        here = '%s[%d]' % (where, index)
        if isinstance(item, Mapping):
            groups.append({_string(name, here): _groups_string(members, '%s.%s' % (here, name))
                           for name, members in item.items()})
        else:
            groups.append(_string(item, here))
    return groups


def _packages(value, where):
    """Package names, or [name, version] pairs."""
    packages = []
    for index, item in enumerate(_list(value, where)):
        here = '%s[%d]' % (where, index)
        packages.append(_list_of_strings(item, here) if isinstance(item, (list, tuple)) else _string(item, here))
    return packages


def _ca_certs(value, where):
    """PEM certificates to trust (a list), or cloud-init's own ca_certs mapping."""
    if isinstance(value, Mapping):
        certs = _mapping(value, where)
        _check_keys(certs, where, ('trusted', 'remove_defaults'))
        if 'remove_defaults' in certs:
            certs['remove_defaults'] = _boolean(certs['remove_defaults'], where + '.remove_defaults')
        if 'trusted' in certs:
            certs['trusted'] = _list_of_strings(certs['trusted'], where + '.trusted')
        return certs
    return {'trusted': _list_of_strings(value, where)}


def _mounts(value, where):
    """fstab entries: lists of up to 6 fields, written as strings (cloud-init's schema wants strings)."""
    mounts = []
    for index, entry in enumerate(_list(value, where)):
        here = '%s[%d]' % (where, index)
        fields = _list(entry, here)
        if not 1 <= len(fields) <= 6:
            raise AnsibleFilterError('%s has %d fields; an fstab entry has 1 to 6' % (here, len(fields)))
        mounts.append([to_text(field) if isinstance(field, (int, str)) and not isinstance(field, bool)
                       else _string(field, '%s[%d]' % (here, number)) for number, field in enumerate(fields)])
    return mounts


def _list_of_mappings(value, where):
    return [_mapping(item, '%s[%d]' % (where, index)) for index, item in enumerate(_list(value, where))]


def _users(value, where):
    users = []
    for index, user in enumerate(_list(value, where)):
        here = '%s[%d]' % (where, index)
        if isinstance(user, str):
            user = {'name': user}
        _check_keys(user, here, USER_KEYS)
        if 'name' not in user:
            raise AnsibleFilterError('%s needs a name' % here)
        users.append({key: _convert(USER_KEYS[key], item, '%s.%s' % (here, key)) for key, item in user.items()})
    return users


CONVERTERS = {
    'str': _string, 'int': _integer, 'bool': _boolean, 'dict': _mapping, 'list': lambda v, w: _plain(_list(v, w)),
    'list_str': _list_of_strings, 'list_dict': _list_of_mappings, 'cidrs': lambda v, w: [
        _ip(item, '%s[%d]' % (w, i), network=True) for i, item in enumerate(_list(v, w))],
    'ip4': lambda v, w: _ip(v, w, 4), 'ip6': lambda v, w: _ip(v, w, 6), 'routes': _routes, 'overrides': _overrides,
    'groups_str': _groups_string, 'sudo': _sudo, 'groups': _top_groups, 'packages': _packages, 'ca_certs': _ca_certs,
    'mounts': _mounts, 'users': _users, 'mac': lambda v, w: mac_address(v, None, w),
}


def _convert(kind, value, where):
    return CONVERTERS[kind](value, where)


# --- network-config ---------------------------------------------------------------------------------------


def _device(kind, variable, index, device, host):
    """One device of a kind, checked: its own keys and the layer-3 keys, converted; name required."""
    where = _where(host, '%s[%d]' % (variable, index))
    allowed = dict(KIND_KEYS[kind])
    allowed.update({key: spec[0] for key, spec in L3_KEYS.items()})
    _check_keys(device, where, allowed)
    for key in ('name',) + (('id', 'link') if kind == 'vlans' else ()) + (('interfaces',) if kind == 'bonds' else ()):
        if key not in device:
            raise AnsibleFilterError('%s needs %r' % (where, key))
    result = {key: _convert(allowed[key], item, '%s.%s' % (where, key)) for key, item in device.items()}
    if kind == 'vlans' and not 0 <= result['id'] <= 4094:
        raise AnsibleFilterError('%s.id is %d, not a VLAN id (0 to 4094)' % (where, result['id']))
    if 'mtu' in result and not 68 <= result['mtu'] <= 65535:
        raise AnsibleFilterError('%s.mtu is %d, not an MTU (68 to 65535)' % (where, result['mtu']))
    return result


def _l3(device, defaults):
    """The layer-3 part of a device in network-config: DHCP, addresses, gateways, routes, DNS, MTU, ..."""
    cfg = {}
    for key, (dummy, out) in L3_KEYS.items():
        if out and key in device and device[key] not in ([], None):
            cfg[out] = device[key]
    for key in ('dhcp4', 'dhcp6'):
        if cfg.get(key) is False:
            del cfg[key]
    servers = device.get('dns_servers', defaults['dns_servers'])
    search = device.get('dns_search', defaults['dns_search'])
    if (cfg.get('dhcp4') or cfg.get('dhcp6') or cfg.get('addresses')) and (servers or search):
        cfg['nameservers'] = {'addresses': servers, 'search': search}
    return cfg


def _network_devices(h, host):
    """Every device the host's variables name, by kind, checked; names unique, references existing."""
    devices = {}
    names = {}
    for kind, variable in NETWORK_KINDS.items():
        devices[kind] = []
        for index, device in enumerate(_as_list(h.get(variable), host, variable)):
            checked = _device(kind, variable, index, device, host)
            if checked['name'] in names:
                raise AnsibleFilterError('%s: %s[%d] is named %r, like %s' % (
                    to_text(host), variable, index, checked['name'], names[checked['name']]))
            names[checked['name']] = '%s[%d]' % (variable, index)
            devices[kind].append(checked)
    known = {kind: {device['name'] for device in devices[kind]} for kind in devices}
    members_of = {'bonds': known['ethernets'], 'bridges': known['ethernets'] | known['bonds'] | known['vlans']}
    for kind in ('bonds', 'bridges'):
        for index, device in enumerate(devices[kind]):
            for member in device.get('interfaces', []):
                if member not in members_of[kind]:
                    raise AnsibleFilterError('%s: %s[%d].interfaces names %r, which is not %s' % (
                        to_text(host), NETWORK_KINDS[kind], index, member,
                        'an interface (cloudinit_interfaces)' if kind == 'bonds'
                        else 'an interface, bond or VLAN of the host'))
    for index, vlan in enumerate(devices['vlans']):
        if vlan['link'] not in known['ethernets'] | known['bonds'] | known['bridges']:
            raise AnsibleFilterError('%s: cloudinit_vlans[%d].link is %r, which is not an interface, bond or bridge '
                                     'of the host' % (to_text(host), index, vlan['link']))
    return devices


def _network_config(h, host, mac):
    """The host's network-config (version 2), or None: no interfaces and no MAC leaves it to cloud-init."""
    devices = _network_devices(h, host)
    defaults = {'dns_servers': h.get('cloudinit_dns_servers') or [], 'dns_search': h.get('cloudinit_dns_search') or []}
    net = {'version': 2}
    if devices['ethernets']:
        net['ethernets'] = {}
        for iface in devices['ethernets']:
            cfg = {'match': {'macaddress': iface['mac']}, 'set-name': iface['name']} if iface.get('mac') else {
                'match': {'name': iface['name']}}
            cfg.update(_l3(iface, defaults))
            if not iface.get('dhcp4') and not iface.get('addresses'):
                cfg['dhcp4'] = False
            net['ethernets'][iface['name']] = cfg
    elif mac:
        # No interfaces, MAC known: DHCP on the NIC with that MAC. A match by MAC is read the same way by every
        # renderer (ENI, networkd, netplan, sysconfig); a name glob would only work with netplan.
        net['ethernets'] = {'dhcp0': dict({'match': {'macaddress': mac}}, **_l3({'dhcp4': True}, defaults))}
    else:
        return None
    for kind in ('bonds', 'bridges', 'vlans'):
        if not devices[kind]:
            continue
        net[kind] = {}
        for device in devices[kind]:
            cfg = {}
            if kind == 'bonds':
                cfg = {'interfaces': device['interfaces'],
                       'parameters': device.get('parameters', {'mode': device.get('mode', 'active-backup')})}
            elif kind == 'bridges':
                cfg = {'interfaces': device.get('interfaces', [])}
                if 'parameters' in device:
                    cfg['parameters'] = device['parameters']
            else:
                cfg = {'id': device['id'], 'link': device['link']}
            cfg.update(_l3(device, defaults))
            net[kind][device['name']] = cfg
    return net


# --- user-data, meta-data, vendor-data --------------------------------------------------------------------


def _deep_merge(base, extra):
    """extra merged into base: mappings key by key (recursively), anything else replaced by extra's value."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _user(user):
    """One cloud-init user from a checked cloudinit_users entry (shell /bin/bash, locked without a password)."""
    out = {'name': user['name'], 'shell': user.get('shell', '/bin/bash')}
    if user.get('groups'):
        out['groups'] = ','.join(user['groups'])
    for key in ('sudo', 'gecos', 'primary_group', 'homedir', 'uid', 'system', 'no_create_home', 'expiredate',
                'ssh_import_id', 'doas', 'plain_text_passwd'):
        if key in user:
            out[key] = user[key]
    if 'hashed_password' in user:
        out['passwd'] = user['hashed_password']
    out['lock_passwd'] = user.get('lock_passwd', 'hashed_password' not in user and 'plain_text_passwd' not in user)
    if user.get('ssh_authorized_keys'):
        out['ssh_authorized_keys'] = user['ssh_authorized_keys']
    return out


def _apt(v):
    apt = dict(v.get('cloudinit_apt') or {})
    if v.get('cloudinit_apt_proxy'):
        apt['proxy'] = v['cloudinit_apt_proxy']
    if v.get('cloudinit_apt_mirror'):
        apt['primary'] = [{'arches': ['default'], 'uri': v['cloudinit_apt_mirror']}]
    if v.get('cloudinit_apt_sources'):
        apt['sources'] = _deep_merge(apt.get('sources') or {}, v['cloudinit_apt_sources'])
    return apt


def _user_data(v, host, name):
    """The user-data (a cloud-config) of the checked variables v."""
    ud = {'hostname': name}
    if v.get('cloudinit_domain'):
        ud.update({'fqdn': '%s.%s' % (name, v['cloudinit_domain']), 'prefer_fqdn_over_hostname': False})
    ud['manage_etc_hosts'] = True
    if 'cloudinit_timezone' in v:
        ud['timezone'] = v['cloudinit_timezone']
    users = [_user(user) for user in v.get('cloudinit_users') or []]
    if not v.get('cloudinit_default_user', True):
        ud['users'] = users  # [] creates no user at all: the distribution's default user is not made
    elif users:
        ud['users'] = ['default'] + users
    simple = {'cloudinit_groups': 'groups', 'cloudinit_chpasswd': 'chpasswd', 'cloudinit_ssh_pwauth': 'ssh_pwauth',
              'cloudinit_package_update': 'package_update', 'cloudinit_package_upgrade': 'package_upgrade',
              'cloudinit_package_reboot_if_required': 'package_reboot_if_required', 'cloudinit_packages': 'packages',
              'cloudinit_yum_repos': 'yum_repos', 'cloudinit_ca_certs': 'ca_certs',
              'cloudinit_power_state': 'power_state',
              'cloudinit_disk_setup': 'disk_setup', 'cloudinit_fs_setup': 'fs_setup', 'cloudinit_mounts': 'mounts',
              'cloudinit_growpart': 'growpart', 'cloudinit_bootcmd': 'bootcmd', 'cloudinit_runcmd': 'runcmd'}
    for variable, key in simple.items():
        if v.get(variable) not in (None, [], {}) or isinstance(v.get(variable), bool):
            ud[key] = v[variable]
    apt = _apt(v)
    if apt:
        ud['apt'] = apt
    ntp = {key: v['cloudinit_ntp_' + key] for key in ('servers', 'pools') if v.get('cloudinit_ntp_' + key)}
    if v.get('cloudinit_ntp_client'):
        ntp['ntp_client'] = v['cloudinit_ntp_client']
    if ntp:
        ud['ntp'] = dict({'enabled': True}, **ntp)
    write_files = seed_write_files(v, host)
    if write_files:
        ud['write_files'] = write_files
    return _deep_merge(ud, v.get('cloudinit_user_data_extra') or {})


def _check_power_state(v, host):
    state = v.get('cloudinit_power_state')
    if state is not None and state.get('mode') not in POWER_MODES:
        raise AnsibleFilterError('%s.mode must be one of %s, not %r' % (
            _where(host, 'cloudinit_power_state'), ', '.join(POWER_MODES), state.get('mode')))


def host_variables(hostvars_of_host, host=None, unknown='error'):
    """A host's cloudinit_* variables, each checked and converted to its type (see HOST_VARIABLES).

    A cloudinit_* variable the seed does not know fails (unknown=error), warns (warn) or is left out (ignore);
    role variables (cloudinit_config_*) are not host variables.
    """
    h = hostvars_of_host
    if not isinstance(h, Mapping):
        raise AnsibleFilterError('host_variables: expects the variables of one host (hostvars[host]), not %s'
                                 % type(h).__name__)
    if unknown not in UNKNOWN_MODES:
        raise AnsibleFilterError('cloudinit_config_unknown_variables must be one of %s, not %r'
                                 % (', '.join(UNKNOWN_MODES), unknown))
    v = {}
    for key in list(h):
        key = to_text(key)
        if not key.startswith('cloudinit_') or key.startswith(ROLE_PREFIXES):
            continue
        kind = HOST_VARIABLES.get(key)
        if kind is None:
            close = difflib.get_close_matches(key, sorted(HOST_VARIABLES), n=2)
            msg = '%s is not a variable of the cloud-init seed%s; it would be ignored' % (
                _where(host, key), ' (did you mean %s?)' % ' or '.join(close) if close else '')
            if unknown == 'error':
                raise AnsibleFilterError(
                    msg + '. Set cloudinit_config_unknown_variables to warn or ignore to let it pass.')
            if unknown == 'warn':
                display.warning(msg)
            continue
        value = h[key]
        if kind == 'network' or value is None:
            v[key] = value
        elif kind == 'mac':
            v[key] = mac_address(value, host, key)
        else:
            v[key] = _convert(kind, value, _where(host, key))
    _check_power_state(v, host)
    return v


def host_seed(hostvars_of_host, host=None, unknown='error'):
    """The seed of one host as data: {meta_data, user_data, network_config, vendor_data}, from its checked
    variables (host_variables); network_config and vendor_data are None when the host has none."""
    v = host_variables(hostvars_of_host, host, unknown)
    name = v.get('cloudinit_hostname') or to_text(host if host is not None else '')
    if not name:
        raise AnsibleFilterError('host_seed: the host has no cloudinit_hostname and no name was given')
    mac = v.get('cloudinit_mac') or ''
    network = _network_config(v, host, mac)
    extra = v.get('cloudinit_network_config_extra') or {}
    if extra:
        network = _deep_merge(network or {'version': 2}, extra)
    return {'meta_data': {'local-hostname': name}, 'user_data': _user_data(v, host, name),
            'network_config': network, 'vendor_data': v.get('cloudinit_vendor_data') or None}


SECRET_KEYS = ('passwd', 'plain_text_passwd', 'hashed_passwd', 'password', 'chpasswd', 'ssh_keys')


def _secrets_in(value, path, found):
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = '%s.%s' % (path, key) if path else to_text(key)
            if key in SECRET_KEYS and item not in (None, '', [], {}):
                found.append(here)
            else:
                _secrets_in(item, here, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _secrets_in(item, '%s[%d]' % (path, index), found)
    elif isinstance(value, str) and 'PRIVATE KEY-----' in value:
        found.append(path)


def seed_secrets(hostvars_of_host, host=None):
    """Where a host's seed holds secrets (passwords, password hashes, private keys): a list of places such as
    user-data users[1].passwd; empty when it holds none."""
    seed = host_seed(hostvars_of_host, host, 'ignore')
    found = []
    for part in ('user_data', 'vendor_data'):
        places = []
        _secrets_in(seed[part] or {}, '', places)
        found.extend('%s %s' % (part.replace('_', '-'), place) for place in places)
    return found


def site_secrets_warning(units, hostvars):
    """Warn when one site ISO carries the secrets of several hosts; returns the warning's text, or ''."""
    lines = []
    for unit in _as_list(units, None, 'units'):
        hosts = _as_list(unit.get('hosts') if isinstance(unit, Mapping) else None, None, 'unit hosts')
        if len(hosts) < 2:
            continue
        holders = ['%s (%s)' % (host, ', '.join(places)) for host in hosts
                   for places in [seed_secrets(hostvars[host], host)] if places]
        if holders:
            lines.append('%s: %s' % (unit.get('name'), '; '.join(holders)))
    if not lines:
        return ''
    msg = ('A site ISO carries the seed of every host of its site, so each of these hosts can read the secrets of '
           'the others: %s. To avoid it, build one ISO per host (site_iso_per: host), or keep secrets out of the '
           'seeds (SSH keys instead of passwords; secrets fetched at boot from a secret store). See docs/fleet.md. '
           'Set site_iso_secrets_warning: false to silence this.' % ' | '.join(lines))
    display.warning(msg)
    return msg


class FilterModule(object):
    """liveiso.customizer filters: the data of the site_iso and cloudinit_config roles."""

    def filters(self):
        return {
            'site_units': site_units,
            'build_host_units': build_host_units,
            'site_media_files': site_media_files,
            'site_manifest': site_manifest,
            'host_mac': host_mac,
            'mac_address': mac_address,
            'seed_write_files': seed_write_files,
            'deprecated_variable': deprecated_variable,
            'host_variables': host_variables,
            'host_seed': host_seed,
            'seed_secrets': seed_secrets,
            'site_secrets_warning': site_secrets_warning,
        }
