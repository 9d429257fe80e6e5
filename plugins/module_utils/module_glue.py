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

from ansible_collections.liveiso.customizer.plugins.module_utils.errors import CustomizerError
from ansible_collections.liveiso.customizer.plugins.module_utils.runner import _SECRETS, redact


def _image_customize(module):
    from ansible_collections.liveiso.customizer.plugins.module_utils.config import load_config
    from ansible_collections.liveiso.customizer.plugins.module_utils.customize import (
        CustomizeRequest, customize_image)
    params = module.params
    config = load_config(params['config'], params['config_file'], params['config_dir'])
    module.no_log_values.update(_SECRETS)
    return customize_image(CustomizeRequest(
        image=params['image'],
        output=params['output'],
        config=config,
        output_format=params['output_format'],
        build_dir=params['build_dir'],
        force=params['force'],
        check_mode=module.check_mode,
    ))


HANDLERS = {
    'image_customize': _image_customize,
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
    module.exit_json(**result)
