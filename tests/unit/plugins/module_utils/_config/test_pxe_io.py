# SPDX-License-Identifier: GPL-3.0-or-later
"""pxe.py and io.py: the pxe, input and output sections; iso.kdumpBootFiles."""

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._config import io
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import InitramfsType, parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._config.pxe import PxeConfig
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError


def test_pxe_fields():
    config = parse_config({"previewFeatures": ["kdump-boot-files"], "pxe": {
        "bootstrapBaseUrl": "http://host/pxe", "kernelCommandLine": {"extraCommandLine": ["rd.info"]},
        "additionalFiles": [{"content": "x", "destination": "/a"}], "kdumpBootFiles": "none"}})
    pxe = config.pxe
    assert isinstance(pxe, PxeConfig)
    assert pxe.initramfs_type is InitramfsType.BOOTSTRAP and pxe.bootstrap_base_url == "http://host/pxe"
    assert pxe.bootstrap_file_url is None and pxe.kernel_extra_args == ("rd.info",)
    assert pxe.additional_files[0].destination == "/a" and pxe.kdump_boot_files == "none"
    assert parse_config({}).pxe is None
    assert parse_config({"pxe": {"initramfsType": "full-os", "bootstrapFileUrl": ""}}).pxe.initramfs_type \
        is InitramfsType.FULL_OS


@pytest.mark.parametrize("pxe,fragment", [
    ({"bootstrapBaseUrl": "file:///x"}, "unsupported URL protocol in (file:///x)"),
    ({"bootstrapBaseUrl": "http://a", "bootstrapFileUrl": "http://b/x.iso"}, "cannot specify both"),
    ({"initramfsType": "full-os", "bootstrapFileUrl": "http://b/x.iso"}, "cannot specify either"),
    ({"initramfsType": "tiny"}, "'tiny' is not one of"),
    ({"bootstrapUrl": "http://a"}, "unknown key"),
])
def test_pxe_refused(pxe, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config({"pxe": pxe})
    assert fragment in str(info.value)


def test_iso_kdump_and_full_os():
    config = parse_config({"previewFeatures": ["kdump-boot-files"], "iso": {"kdumpBootFiles": "keep",
                                                                            "initramfsType": "full-os"}})
    assert config.iso.kdump_boot_files == "keep" and config.unsupported_key() == "iso.initramfsType: full-os"
    with pytest.raises(ConfigError, match="invalid kdumpBootFilesType value"):
        parse_config({"previewFeatures": ["kdump-boot-files"], "iso": {"kdumpBootFiles": "all"}})
    assert parse_config({"iso": {"initramfsType": ""}}).iso.initramfs_type is InitramfsType.BOOTSTRAP


def test_input_output(tmp_path):
    config = parse_config({"input": {"image": {"path": "in.vhdx"}}, "output": {"image": {
        "path": "out/o.qcow2", "format": "pxe-tar", "cosi": {"compression": {"level": 9}}}}}, str(tmp_path))
    assert config.io.input_image == str(tmp_path / "in.vhdx")
    assert config.io.output_image == str(tmp_path / "out" / "o.qcow2")
    assert config.io.output_format == "pxe-tar" and config.io.cosi_compression_level == 9
    assert parse_config({"input": {"image": {"path": ""}}}).io.input_image is None


@pytest.mark.parametrize("data,fragment", [
    ({"output": {"image": {"format": "ova"}}}, "invalid image format type (ova)"),
    ({"input": {"image": {"path": "a", "azureLinux": {"version": "3.0"}}}},
     "must only specify one of 'path', 'oci', and 'azureLinux'"),
    ({"input": {"image": {"azureLinux": {"version": "3.0"}}}}, "needs a Microsoft download"),
    ({"previewFeatures": ["input-image-oci"], "input": {"image": {"oci": {"uri": "mcr.microsoft.com/x"}}}},
     "needs an OCI registry"),
    ({"previewFeatures": ["output-artifacts"], "output": {"artifacts": {"items": ["ukis"]}}},
     "'items' and 'path' must both be specified and non-empty"),
    ({"previewFeatures": ["output-artifacts"], "output": {"artifacts": {"items": ["uki-addons"], "path": "/a"}}},
     "uki-addons are automatically included with ukis"),
    ({"previewFeatures": ["output-artifacts"], "output": {"artifacts": {"items": ["kernel"], "path": "/a"}}},
     "invalid item value (kernel)"),
])
def test_io_refused(data, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert fragment in str(info.value)


def test_artifacts():
    config = parse_config({"previewFeatures": ["output-artifacts"],
                           "output": {"artifacts": {"items": ["ukis", "shim"], "path": "/srv/a"}}})
    assert config.io.artifacts == io.OutputArtifacts(("ukis", "shim"), "/srv/a")
    assert config.unsupported_key() == "output.artifacts"


def test_effective_option_wins():
    assert io.effective("/opt", "/cfg", "image") == "/opt"
    assert io.effective(None, "/cfg", "image") == "/cfg"
    with pytest.raises(ConfigError) as info:
        io.effective(None, None, "output")
    assert "output.image.path" in info.value.hint
