# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place where library errors become ``fail_json`` (private to this collection).

Each module builds its AnsibleModule and calls :func:`run_module` with its own
handler from here (:func:`image_customize`, :func:`liveos_iso`,
:func:`cloudinit_seed`), which turns params into the library's typed request
and calls the library. Errors become ``fail_json`` here only: ours with their
message and hint, OSErrors a user caused (a directory given as a file, no
permission) with the path and what to do, anything else as an internal error
with the trace. Secrets the library registered are masked in every message,
and passed to ``no_log_values`` so Ansible masks them too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback
from typing import TYPE_CHECKING, Any, Callable, Dict, NoReturn, Protocol, Set

from ansible_collections.liveiso.customizer.plugins.module_utils._core import secrets
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import (
    CustomizerError,
    is_user_os_error,
    user_os_error,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import redact

if TYPE_CHECKING:  # imported where they are used: a missing PyYAML is reported by run_module
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import Config
    from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest

Result = Dict[str, Any]  # what a handler returns: the module's exit_json keys


class Module(Protocol):
    """What the glue uses of an ``AnsibleModule``."""

    params: Dict[str, Any]
    check_mode: bool
    no_log_values: Set[str]
    _diff: bool

    def fail_json(self, **kwargs: Any) -> NoReturn:
        ...

    def exit_json(self, **kwargs: Any) -> NoReturn:
        ...

    def warn(self, warning: str) -> None:
        ...


# Options of every image-building module (doc fragment build).
BUILD_OPTIONS: Dict[str, Dict[str, Any]] = dict(
    config_dir=dict(type='path'),
    build_dir=dict(type='path'),
    force=dict(type='bool', default=False),
    checksum=dict(type='bool', default=True),
)

# Options of Live ISO output, shared by liveos_iso and image_customize (doc fragment live_iso).
LIVE_ISO_OPTIONS: Dict[str, Dict[str, Any]] = dict(
    volume_label=dict(type='str'),
    compression=dict(type='str', choices=['zstd', 'xz', 'gzip', 'lz4']),
    compression_level=dict(type='int'),
    boot_modes=dict(type='list', elements='str', choices=['bios', 'uefi']),
    secure_boot=dict(type='str', choices=['auto', 'required', 'off'], default='auto'),
    source_date_epoch=dict(type='int'),
    session_writer=dict(type='str', choices=['auto', 'here', 'xorriso'], default='auto'),
)


def _config_io(module: Module, config: "Config") -> "Config":
    """Fill ``image``/``output``/``output_format`` from the config's input/output sections where the options are
    not given (an option wins, as the reference's CLI flags do); refuse a key whose behaviour is not built yet,
    except in check mode, where it is a warning (and the check goes on as if the key had its default)."""
    import dataclasses

    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import InitramfsType
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.io import effective
    from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
    params = module.params
    params['image'] = effective(params.get('image'), config.io.input_image, 'image')
    params['output'] = effective(params.get('output'), config.io.output_image, 'output')
    params['output_format'] = params.get('output_format') or config.io.output_format
    key = config.unsupported_key()
    if params['output_format'] in ('cosi', 'baremetal-image'):
        key = key or 'output.image.format: %s' % params['output_format']
    if key is not None:
        err = ConfigError('config.' + key.split(':')[0], 'is not supported yet by liveiso.customizer (%s)' % key,
                          'Remove it from the configuration; docs/configuration.md says what each key does here.')
        if not module.check_mode:
            raise err
        module.warn(str(err))
        if config.iso.initramfs_type is not InitramfsType.BOOTSTRAP:
            config = dataclasses.replace(config, iso=dataclasses.replace(config.iso,
                                                                         initramfs_type=InitramfsType.BOOTSTRAP))
    return config


def _live_request(module: Module, config: "Config") -> "LiveIsoRequest":
    from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest
    params = module.params
    return LiveIsoRequest(
        image=params['image'],
        output=params['output'],
        config=config,
        volume_label=params['volume_label'],
        compression=params['compression'],
        compression_level=params['compression_level'],
        boot_modes=tuple(params['boot_modes']) if params['boot_modes'] else None,
        secure_boot=params['secure_boot'],
        source_date_epoch=params['source_date_epoch'],
        build_dir=params['build_dir'],
        force=params['force'],
        checksum=params['checksum'],
        session_writer=params['session_writer'],
        check_mode=module.check_mode,
    )


def image_customize(module: Module) -> Result:
    """The image_customize module: a disk image out, or a Live ISO with ``output_format: iso``."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.disk import (
        CustomizeRequest,
        customize_image,
        resolve_output_format,
    )
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
    params = module.params
    config = load_config(params['config'], params['config_file'], params['config_dir'])
    module.no_log_values.update(secrets.registered())
    config = _config_io(module, config)
    if params['output_format'] in ('cosi', 'baremetal-image'):  # check mode: _config_io warned
        return dict(changed=False, output=params['output'], output_format=params['output_format'], steps=[],
                    msg='check mode: output format %s is not supported yet' % params['output_format'])
    if resolve_output_format(params['output'], params['output_format']) == 'iso':
        result = build_live_iso(_live_request(module, config))
        result.setdefault('output_format', 'iso')
        return result
    return customize_image(CustomizeRequest(
        image=params['image'],
        output=params['output'],
        config=config,
        output_format=params['output_format'],
        build_dir=params['build_dir'],
        force=params['force'],
        checksum=params['checksum'],
        check_mode=module.check_mode,
    ))


def liveos_iso(module: Module) -> Result:
    """The liveos_iso module: a Live ISO out of a disk image or a Live ISO."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
    iso = dict((key, value) for key, value in (module.params['iso'] or {}).items() if value is not None)
    config = load_config({'iso': iso}, config_dir=module.params['config_dir'])
    return build_live_iso(_live_request(module, config))


def cloudinit_seed(module: Module) -> Result:
    """The cloudinit_seed module: the params become a SeedRequest for the library's make_seed()."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.make import SeedRequest, make_seed
    params = module.params
    request = SeedRequest(
        dest=params['dest'], meta_data=params['meta_data'], user_data=params['user_data'],
        network_config=params['network_config'], vendor_data=params['vendor_data'],
        instance_id=params['instance_id'], host=params['host'], placement=params['placement'],
        live_medium_path=params['live_medium_path'], validate_with_image=params['validate_with_image'],
        show_secrets=params['show_secrets'], mode=params.get('mode'), public_mode=params.get('public_mode'),
        owner=params.get('owner'), group=params.get('group'), check_mode=module.check_mode, diff=module._diff)
    try:
        return dict(make_seed(request))
    finally:
        module.no_log_values.update(secrets.registered())


def run_module(module: Module, handler: Callable[[Module], Result]) -> None:
    """Run ``handler(module)`` (one of the functions above) and report: exit_json, or fail_json once."""
    name = getattr(handler, '__name__', 'module')
    try:
        result = handler(module)
    except CustomizerError as err:
        module.no_log_values.update(secrets.registered())
        module.fail_json(msg=redact(str(err)), error=type(err).__name__)
    except ImportError as err:
        module.fail_json(msg="a Python library the module needs is missing on the managed host: %s. "
                             "Install PyYAML (python3-yaml)." % err)
    except OSError as err:
        module.no_log_values.update(secrets.registered())
        if not is_user_os_error(err):
            module.fail_json(msg=redact("internal error in liveiso.customizer.%s: %s" % (name, err)),
                             exception=redact(traceback.format_exc()))
        failure = user_os_error(err, "use a file")
        module.fail_json(msg=redact(str(failure)), error=type(failure).__name__)
    except Exception as err:  # a bug: say so, with the trace, secrets masked
        module.no_log_values.update(secrets.registered())
        module.fail_json(msg=redact("internal error in liveiso.customizer.%s: %s" % (name, err)),
                         exception=redact(traceback.format_exc()))
    for note in result.get("notes") or []:
        if note.startswith(("released what a killed build", "removed the temp output of a killed build",
                            "cloud-init seed on the media is not read")):
            module.warn(note)
    module.exit_json(**result)
