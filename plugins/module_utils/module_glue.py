# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where library errors become ``fail_json`` (private to this collection).

Modules build their AnsibleModule and call :func:`run_module`; this turns
params into the library's typed request, runs it, and reports. Secrets the
config registered are masked in every message, and passed to ``no_log_values``
so Ansible masks them too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CustomizerError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.secrets import _SECRETS, redact

# Options of every image-building module (doc fragment build).
BUILD_OPTIONS = dict(
    config_dir=dict(type='path'),
    build_dir=dict(type='path'),
    force=dict(type='bool', default=False),
    checksum=dict(type='bool', default=True),
)

# Options of Live ISO output, shared by liveos_iso and image_customize (doc fragment live_iso).
LIVE_ISO_OPTIONS = dict(
    volume_label=dict(type='str'),
    compression=dict(type='str', choices=['zstd', 'xz', 'gzip', 'lz4']),
    compression_level=dict(type='int'),
    boot_modes=dict(type='list', elements='str', choices=['bios', 'uefi']),
    secure_boot=dict(type='str', choices=['auto', 'required', 'off'], default='auto'),
    source_date_epoch=dict(type='int'),
)


def _live_request(module, config):
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import LiveIsoRequest
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
        check_mode=module.check_mode,
    )


def _image_customize(module):
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.disk import (
        CustomizeRequest,
        customize_image,
        resolve_output_format,
    )
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
    params = module.params
    config = load_config(params['config'], params['config_file'], params['config_dir'])
    module.no_log_values.update(_SECRETS)
    if resolve_output_format(params['output'], params['output_format']) == 'iso':
        return build_live_iso(_live_request(module, config))
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


def _liveos_iso(module):
    from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils._outputs.live_iso import build_live_iso
    iso = dict((key, value) for key, value in (module.params['iso'] or {}).items() if value is not None)
    config = load_config({'iso': iso}, config_dir=module.params['config_dir'])
    return build_live_iso(_live_request(module, config))


def _cloudinit_seed(module):
    from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit import seed
    params = module.params
    try:
        files = seed.render_seed(params['meta_data'], params['user_data'], params['network_config'],
                                 params['vendor_data'], params['instance_id'], params['host'])
    finally:
        module.no_log_values.update(_SECRETS)
    notes = ["offline checks passed: %s" % ", ".join(sorted(files))]
    medium = params['live_medium_path']
    if params['validate_with_image']:
        from ansible_collections.liveiso.customizer.plugins.module_utils._cloudinit.schema import validate_in_image
        facts = validate_in_image(params['validate_with_image'], files)
        notes += facts['notes']
        medium = medium or facts['live_medium']
    medium = medium or seed.MEDIUM_PATHS['dracut']
    changed, diffs = seed.write_seed(params['dest'], files, module.check_mode, params['show_secrets'])
    result = dict(
        changed=bool(changed),
        files=dict((name, '%s/%s' % (params['dest'].rstrip('/'), name)) for name in files),
        changed_files=changed,
        instance_id=seed.load_yaml('meta-data', files['meta-data'])['instance-id'],
        config=seed.config_fragment(params['placement'], params['dest'], medium, files=files),
        live_medium_path=medium,
        notes=notes,
    )
    if module._diff:
        result['diff'] = diffs
    return result


HANDLERS = {
    'image_customize': _image_customize,
    'liveos_iso': _liveos_iso,
    'cloudinit_seed': _cloudinit_seed,
}


def run_module(module, name):
    try:
        result = HANDLERS[name](module)
    except CustomizerError as err:
        module.no_log_values.update(_SECRETS)
        module.fail_json(msg=redact(str(err)), error=type(err).__name__)
    except ImportError as err:
        module.fail_json(msg="a Python library the module needs is missing on the managed host: %s. "
                             "Install PyYAML (python3-yaml)." % err)
    except Exception as err:  # a bug: say so, with the trace, secrets masked
        module.no_log_values.update(_SECRETS)
        module.fail_json(msg=redact("internal error in liveiso.customizer.%s: %s" % (name, err)),
                         exception=redact(traceback.format_exc()))
    for note in result.get("notes") or []:
        if note.startswith(("released what a killed build", "removed the temp output of a killed build")):
            module.warn(note)
    module.exit_json(**result)
