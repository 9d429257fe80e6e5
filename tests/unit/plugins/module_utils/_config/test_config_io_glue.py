# SPDX-License-Identifier: GPL-3.0-or-later
"""module_glue._config_io: the config's input/output fill the module options; not-yet-built keys at build time."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import InitramfsType, parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError


class FakeModule(object):
    _diff = False

    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = dict(dict(image=None, output=None, output_format=None), **params)
        self.no_log_values = set()
        self.warnings = []

    def warn(self, warning):
        self.warnings.append(warning)


CONFIG = {"input": {"image": {"path": "/srv/in.qcow2"}}, "output": {"image": {"path": "/srv/out.vhdx",
                                                                              "format": "vhdx"}}}


def test_config_gives_the_options():
    module = FakeModule()
    module_glue._config_io(module, parse_config(CONFIG))
    assert (module.params["image"], module.params["output"], module.params["output_format"]) == (
        "/srv/in.qcow2", "/srv/out.vhdx", "vhdx")


def test_options_win():
    module = FakeModule(image="/a.raw", output="/b.qcow2", output_format="qcow2")
    module_glue._config_io(module, parse_config(CONFIG))
    assert (module.params["image"], module.params["output"], module.params["output_format"]) == (
        "/a.raw", "/b.qcow2", "qcow2")


def test_neither_is_an_error():
    with pytest.raises(ConfigError, match="image: is required"):
        module_glue._config_io(FakeModule(output="/b.qcow2"), parse_config({}))


@pytest.mark.parametrize("config,key", [
    ({"storage": {"reinitializeVerity": "all"}, "previewFeatures": ["reinitialize-verity"]},
     "config.storage.reinitializeVerity"),
    ({"iso": {"initramfsType": "full-os"}}, "config.iso.initramfsType"),
    ({"output": {"image": {"format": "cosi"}}}, "config.output.image.format"),
])
def test_not_built_yet(config, key):
    base = dict(image="/a.raw", output="/b.x")
    with pytest.raises(ConfigError) as info:
        module_glue._config_io(FakeModule(**base), parse_config(config))
    assert str(info.value).startswith(key + ": is not supported yet by liveiso.customizer")
    module = FakeModule(check_mode=True, **base)
    checked = module_glue._config_io(module, parse_config(config))
    assert module.warnings and "not supported yet" in module.warnings[0]
    assert checked.iso.initramfs_type is InitramfsType.BOOTSTRAP
