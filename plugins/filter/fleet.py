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
    <seeds_dir>/<host>/{meta-data,user-data,network-config} to /cloud-init-data/by-mac/<mac with dashes>/,
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
        for seed_file in SEED_FILES:
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
    return not interfaces or any(isinstance(i, Mapping) and _truthy(i.get('dhcp4', False), host,
                                                                    'cloudinit_interfaces[].dhcp4')
                                 for i in interfaces)


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
        }
