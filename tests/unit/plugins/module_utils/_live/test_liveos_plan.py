# SPDX-License-Identifier: GPL-3.0-or-later
"""liveos.py: live kernel arguments, request validation and the LivePlan (labels, saved config, merged args)."""

import hashlib
import json

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils import module_glue
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import FileSpec, parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ConfigError
from ansible_collections.liveiso.customizer.plugins.module_utils._core.version import COLLECTION_VERSION
from ansible_collections.liveiso.customizer.plugins.module_utils._live.media import LABEL_RE
from ansible_collections.liveiso.customizer.plugins.module_utils._live.plan import (
    BOOT_MODES,
    SECURE_BOOT,
    LivePlan,
    image_args_for_live,
    live_args,
    merge_files,
)
from ansible_collections.liveiso.customizer.plugins.module_utils._live.request import LiveIsoRequest, validate_request
from ansible_collections.liveiso.customizer.plugins.module_utils._live.saved_config import SavedConfig
from ansible_collections.liveiso.customizer.plugins.module_utils._live.squashfs import COMPRESSORS

DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
OTHER_DIGEST = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
NOCLOUD = "ds=nocloud;s=file:///x/"
LIVE = ["root=live:CDLABEL=LIVE_9F86D08188", "rd.live.image", "rd.live.dir=liveos", "rd.live.squashimg=rootfs.img",
        "rd.live.overlay.overlayfs"]


def make_request(tmp_path, data=None, **kwargs):
    return LiveIsoRequest(image="/x/in.raw", output=kwargs.pop("output", "/x/out.iso"),
                          config=parse_config(data or {}, base_dir=str(tmp_path)), **kwargs)


def iso_args(*args):
    return {"iso": {"kernelCommandLine": {"extraCommandLine": list(args)}}}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- kernel arguments

def test_live_args():
    assert live_args("MY_LABEL") == ["root=live:CDLABEL=MY_LABEL", "rd.live.image", "rd.live.dir=liveos",
                                     "rd.live.squashimg=rootfs.img", "rd.live.overlay.overlayfs"]


def test_image_args_for_live_drops_disk_only_args():
    args = ["BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64", "root=UUID=0b1c-22", "ro", "rw", "initrd=/initrd.img",
            "rootflags=subvol=@", "rootfstype=ext4", "resume=UUID=abcd", "rd.live.image", "rd.live.ram=1",
            "rd.luks.uuid=1234", "rd.lvm.lv=vg/root", "rd.md.uuid=5678",
            "console=tty0", "console=ttyS0,115200n8", "quiet", NOCLOUD, "rootdelay=5", "rd.shell", "net.ifnames=0"]
    assert image_args_for_live(args) == ["console=tty0", "console=ttyS0,115200n8", "quiet", NOCLOUD,
                                         "rootdelay=5", "rd.shell", "net.ifnames=0"]


def test_image_args_for_live_keeps_order_and_empty():
    assert image_args_for_live([]) == []
    assert image_args_for_live(["quiet", "ro", "splash"]) == ["quiet", "splash"]
    # "ro"/"rw" are dropped only as whole words, not as prefixes
    assert image_args_for_live(["robust=1", "rwx", "ro"]) == ["robust=1", "rwx"]


# ---------------------------------------------------------------- validate_request

def test_valid_requests_pass(tmp_path):
    assert validate_request(make_request(tmp_path)) is None
    validate_request(make_request(tmp_path, volume_label="A" * 32, compression="zstd", compression_level=22,
                                  boot_modes=("uefi",), secure_boot="required", source_date_epoch=0))
    validate_request(make_request(tmp_path, volume_label="my-Live_1", compression="gzip", compression_level=1,
                                  boot_modes=("bios",), secure_boot="off"))
    validate_request(make_request(tmp_path, compression="xz"))
    validate_request(make_request(tmp_path, compression="lz4", data={"iso": {"initramfsType": "bootstrap"}}))


@pytest.mark.parametrize("label", ["bad label", "A" * 33, "", "a.b", "a/b", "LIVE\u00c4", "x;y"])
def test_bad_volume_label(tmp_path, label):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, volume_label=label))
    assert info.value.path == "volume_label"
    assert str(info.value).startswith("volume_label: %r is not a valid volume label" % label)
    assert "1 to 32 characters" in str(info.value)


def test_unknown_compression(tmp_path):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, compression="bzip2"))
    assert info.value.path == "compression"
    assert str(info.value) == "compression: 'bzip2' is not one of zstd, xz, gzip, lz4"


@pytest.mark.parametrize("compression", ["xz", "lz4"])
def test_compression_level_not_taken(tmp_path, compression):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, compression=compression, compression_level=5))
    assert info.value.path == "compression_level"
    assert str(info.value) == "compression_level: %s takes no compression level" % compression


@pytest.mark.parametrize("compression,level,bounds", [
    ("zstd", 0, "1..22"), ("zstd", 23, "1..22"), ("zstd", -3, "1..22"), ("gzip", 0, "1..9"), ("gzip", 10, "1..9"),
])
def test_compression_level_out_of_range(tmp_path, compression, level, bounds):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, compression=compression, compression_level=level))
    assert info.value.path == "compression_level"
    assert str(info.value) == "compression_level: %d is out of range %s for %s" % (level, bounds, compression)


@pytest.mark.parametrize("modes", [(), ("bios", "efi"), ("legacy",), ("UEFI",)])
def test_bad_boot_modes(tmp_path, modes):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, boot_modes=modes))
    assert info.value.path == "boot_modes"
    assert str(info.value) == "boot_modes: must be a non-empty list of bios and uefi"


def test_bad_secure_boot(tmp_path):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, secure_boot="on"))
    assert info.value.path == "secure_boot"
    assert str(info.value) == "secure_boot: 'on' is not one of auto, required, off"


def test_secure_boot_required_needs_uefi(tmp_path):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, secure_boot="required", boot_modes=("bios",)))
    assert info.value.path == "secure_boot"
    assert str(info.value) == "secure_boot: required needs uefi in boot_modes"
    # auto and off are fine without uefi
    validate_request(make_request(tmp_path, secure_boot="auto", boot_modes=("bios",)))
    validate_request(make_request(tmp_path, secure_boot="off", boot_modes=("bios",)))


def test_full_os_initramfs_rejected(tmp_path):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, data={"iso": {"initramfsType": "full-os"}}))
    assert info.value.path == "config.iso.initramfsType"
    assert "full-os is not supported" in str(info.value)
    assert "bootstrap" in info.value.hint


@pytest.mark.parametrize("output", ["/x/out.img", "/x/out.iso.tmp", "/x/out", "/x/outiso"])
def test_output_must_end_in_iso(tmp_path, output):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, output=output))
    assert info.value.path == "output"
    assert str(info.value) == "output: must end in .iso"


def test_negative_source_date_epoch(tmp_path):
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, source_date_epoch=-1))
    assert info.value.path == "source_date_epoch"
    assert str(info.value) == "source_date_epoch: must be a non-negative number of seconds"


def test_validation_order_label_first(tmp_path):
    """With several problems, the first check (volume_label) is the one reported."""
    with pytest.raises(ConfigError) as info:
        validate_request(make_request(tmp_path, volume_label="bad label", compression="bzip2", output="/x/o"))
    assert info.value.path == "volume_label"


def test_volume_label_with_trailing_newline_rejected(tmp_path):
    with pytest.raises(ConfigError):
        validate_request(make_request(tmp_path, volume_label="LIVE\n"))


def test_request_options(tmp_path):
    request = make_request(tmp_path, volume_label="L", compression="gzip", compression_level=4,
                           boot_modes=("uefi",), secure_boot="off", source_date_epoch=7)
    assert request.options() == {"volume_label": "L", "compression": "gzip", "compression_level": 4,
                                 "boot_modes": ["uefi"], "secure_boot": "off", "source_date_epoch": 7}


# ---------------------------------------------------------------- merge_files

def test_merge_files(tmp_path):
    source = tmp_path / "motd"
    source.write_bytes(b"welcome\n")
    saved = {"/a.txt": "aaaa", "/b.txt": "bbbb"}
    specs = (FileSpec(destination="/b.txt", source=str(source)), FileSpec(destination="/c.txt", content="hi"),
             FileSpec(destination="/empty", content=""))
    merged = merge_files(saved, specs)
    assert merged == {"/a.txt": "aaaa", "/b.txt": hashlib.sha256(b"welcome\n").hexdigest(), "/c.txt": sha("hi"),
                      "/empty": sha("")}
    assert saved == {"/a.txt": "aaaa", "/b.txt": "bbbb"}  # not modified in place


def test_merge_files_without_saved():
    assert merge_files(None, ()) == {}
    assert merge_files({}, (FileSpec(destination="/x", content="x"),)) == {"/x": sha("x")}
    # a later spec for the same destination wins
    assert merge_files(None, (FileSpec(destination="/x", content="1"), FileSpec(destination="/x", content="2"))) \
        == {"/x": sha("2")}


def test_merge_files_from_config(tmp_path):
    (tmp_path / "seed").write_text("seed data")
    request = make_request(tmp_path, {"iso": {"additionalFiles": [
        {"source": "seed", "destination": "/cidata/user-data"},
        {"content": "instance-id: a\n", "destination": "/cidata/meta-data"}]}})
    assert merge_files({"/old": "0" * 64}, request.config.iso.additional_files) == {
        "/old": "0" * 64, "/cidata/user-data": sha("seed data"), "/cidata/meta-data": sha("instance-id: a\n")}


# ---------------------------------------------------------------- LivePlan

def test_default_label(tmp_path):
    plan = LivePlan(make_request(tmp_path), DIGEST)
    assert plan.label == "LIVE_9F86D08188"
    assert len(plan.label) <= 32
    assert LABEL_RE.match(plan.label)
    assert LivePlan(make_request(tmp_path), OTHER_DIGEST).label == "LIVE_60303AE22B"


def test_explicit_label_wins(tmp_path):
    plan = LivePlan(make_request(tmp_path, volume_label="SITE_A"), DIGEST, SavedConfig(volume_label="OLD"))
    assert plan.label == "SITE_A"
    # the saved label is not reused: without volume_label the label follows the digest
    assert LivePlan(make_request(tmp_path), DIGEST, SavedConfig(volume_label="OLD")).label == "LIVE_9F86D08188"


def test_plan_without_saved(tmp_path):
    request = make_request(tmp_path, iso_args("quiet", NOCLOUD, "quiet"), compression="xz", boot_modes=("uefi",))
    plan = LivePlan(request, DIGEST)
    assert plan.boot_id == "9f86d081884c7d65"
    assert plan.image_args == []
    assert plan.extra_args == ["quiet", NOCLOUD]
    assert plan.files == {}
    assert plan.kernel_version is None
    assert plan.secure_boot is False
    assert plan.boot_modes == ["uefi"]
    assert plan.compression == "xz"
    assert plan.kernel_args() == LIVE + ["quiet", NOCLOUD]


SAVED = {
    "format": 1,
    "boot_id": "feedface00000000",
    "volume_label": "LIVE_OLD",
    "kernel_version": "6.1.0-13-amd64",
    "image_args": ["console=ttyS0,115200n8", "quiet"],
    "extra_args": ["a=1", "b=2"],
    "additional_files": {"/a.txt": "aaaa"},
    "boot_modes": ["bios"],
    "secure_boot": True,
    "compression": "lz4",
}


def test_plan_reuses_saved(tmp_path):
    request = make_request(tmp_path, iso_args("b=2", "c=3", "a=1", "d=4", "c=3"))
    saved = SavedConfig.from_json(json.loads(json.dumps(SAVED)))
    plan = LivePlan(request, DIGEST, saved)
    assert plan.boot_id == "feedface00000000"
    assert plan.image_args == ["console=ttyS0,115200n8", "quiet"]
    assert plan.extra_args == ["a=1", "b=2", "c=3", "d=4"]  # saved first, then the new ones, no duplicates
    assert plan.files == {"/a.txt": "aaaa"}
    assert plan.kernel_version == "6.1.0-13-amd64"
    assert plan.secure_boot is True
    assert plan.boot_modes == ["bios"]
    assert plan.compression == "lz4"
    # the plan's lists are copies: changing them leaves the saved config alone
    plan.image_args.append("x")
    plan.extra_args.append("y")
    plan.boot_modes.append("uefi")
    assert saved.to_json() == SavedConfig.from_json(SAVED).to_json()
    # options given explicitly win over the saved ones
    explicit = LivePlan(make_request(tmp_path, boot_modes=("bios", "uefi"), compression="xz"), DIGEST, saved)
    assert explicit.boot_modes == ["bios", "uefi"] and explicit.compression == "xz"


def test_plan_saved_boot_id_empty_falls_back(tmp_path):
    plan = LivePlan(make_request(tmp_path), DIGEST, SavedConfig(boot_id="", boot_modes=[]))
    assert plan.boot_id == "9f86d081884c7d65"
    assert plan.boot_modes == ["bios", "uefi"]


def test_plan_files_merge_saved_and_new(tmp_path):
    request = make_request(tmp_path, {"iso": {"additionalFiles": [
        {"content": "new", "destination": "/a.txt"}, {"content": "c", "destination": "/c.txt"}]}})
    plan = LivePlan(request, DIGEST, SavedConfig(additional_files={"/a.txt": "aaaa", "/b.txt": "bbbb"}))
    assert plan.files == {"/a.txt": sha("new"), "/b.txt": "bbbb", "/c.txt": sha("c")}


def test_kernel_args_order_and_no_duplicates(tmp_path):
    request = make_request(tmp_path, iso_args("quiet", NOCLOUD, "console=ttyS0", "z=1", "rd.live.image"))
    plan = LivePlan(request, DIGEST, SavedConfig(image_args=["console=ttyS0", "quiet", "console=ttyS0", "rd.live.image"]))
    args = plan.kernel_args()
    assert args == LIVE + ["console=ttyS0", "quiet", NOCLOUD, "z=1"]
    assert len(args) == len(set(args))
    assert plan.image_args == ["console=ttyS0", "quiet", "console=ttyS0", "rd.live.image"]  # not changed by it


def test_kernel_args_follow_label(tmp_path):
    plan = LivePlan(make_request(tmp_path, volume_label="SITE_B", data=iso_args("quiet")), DIGEST)
    assert plan.kernel_args()[0] == "root=live:CDLABEL=SITE_B"
    assert plan.kernel_args()[-1] == "quiet"
    assert len(plan.kernel_args()) == 6


def test_saved_config_values(tmp_path):
    request = make_request(tmp_path, iso_args("quiet"), boot_modes=("uefi",), compression="gzip")
    plan = LivePlan(request, DIGEST)
    plan.kernel_version = "6.1.0-13-amd64"
    plan.image_args = ["console=ttyS0"]
    plan.secure_boot = True
    assert plan.saved_config().to_json() == {
        "format": 1, "generator": "liveiso.customizer %s" % COLLECTION_VERSION, "boot_id": "9f86d081884c7d65",
        "volume_label": "LIVE_9F86D08188", "kernel_version": "6.1.0-13-amd64", "image_args": ["console=ttyS0"],
        "extra_args": ["quiet"], "additional_files": {}, "boot_modes": ["uefi"], "secure_boot": True,
        "compression": "gzip", "compression_level": None}


def test_saved_config_round_trip(tmp_path):
    (tmp_path / "f").write_text("file")
    data = iso_args("quiet", NOCLOUD)
    data["iso"]["additionalFiles"] = [{"source": "f", "destination": "/f"}, {"content": "x", "destination": "/x"}]
    first = LivePlan(make_request(tmp_path, data, boot_modes=("uefi",), compression="xz"), DIGEST)
    first.kernel_version = "6.1.0-13-amd64"
    first.image_args = ["console=ttyS0", "quiet"]
    first.secure_boot = True
    saved = SavedConfig.from_json(json.loads(json.dumps(first.saved_config().to_json())))  # written, read back
    # the same request again (the remaster fast path): nothing changes, no argument is doubled
    second = LivePlan(make_request(tmp_path, data, boot_modes=("uefi",), compression="xz"), DIGEST, saved=saved)
    assert second.saved_config() == first.saved_config()
    assert second.kernel_args() == first.kernel_args() == LIVE + ["console=ttyS0", "quiet", NOCLOUD]
    # a new digest (other config) keeps the boot id and the saved settings, changes the default label
    third = LivePlan(make_request(tmp_path, iso_args("new=1")), OTHER_DIGEST, saved=saved)
    assert third.boot_id == "9f86d081884c7d65"
    assert third.label == "LIVE_60303AE22B"
    assert third.extra_args == ["quiet", NOCLOUD, "new=1"]
    assert third.files == {"/f": sha("file"), "/x": sha("x")}
    assert (third.boot_modes, third.compression, third.secure_boot) == (["uefi"], "xz", True)
    assert third.kernel_version == "6.1.0-13-amd64"


# ---------------------------------------------------------------- module glue

class FakeModule(object):
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode


def test_live_request_from_module_params(tmp_path):
    config = parse_config({}, base_dir=str(tmp_path))
    params = {"image": "/in.qcow2", "output": "/out.iso", "volume_label": "L1", "compression": "gzip",
              "compression_level": 6, "boot_modes": ["uefi"], "secure_boot": "required", "source_date_epoch": 5,
              "build_dir": "/b", "force": True, "checksum": False, "session_writer": "xorriso"}
    request = module_glue._live_request(FakeModule(params, check_mode=True), config)  # pylint: disable=protected-access
    assert request == LiveIsoRequest(image="/in.qcow2", output="/out.iso", config=config, volume_label="L1",
                                     compression="gzip", compression_level=6, boot_modes=("uefi",),
                                     secure_boot="required", source_date_epoch=5, build_dir="/b", force=True,
                                     session_writer="xorriso",
                                     check_mode=True, checksum=False)
    assert "checksum" not in request.options()  # the output's bytes do not depend on it
    assert isinstance(request.boot_modes, tuple)
    validate_request(request)


def test_module_option_choices_match_library():
    options = module_glue.LIVE_ISO_OPTIONS
    assert tuple(options["compression"]["choices"]) == COMPRESSORS
    assert options["compression"].get("default") is None and LiveIsoRequest.compression is None
    assert tuple(options["boot_modes"]["choices"]) == BOOT_MODES
    assert options["boot_modes"].get("default") is None and LiveIsoRequest.boot_modes is None
    assert tuple(options["secure_boot"]["choices"]) == SECURE_BOOT
    assert options["secure_boot"]["default"] == LiveIsoRequest.secure_boot
    assert module_glue.BUILD_OPTIONS["checksum"]["default"] is LiveIsoRequest.checksum is True
