# SPDX-License-Identifier: GPL-3.0-or-later
"""Confinement: a hostile image or ISO must never make the build write on the build host.

The disk image is a tiny GPT image whose ext4 root points its symlinks at host paths: ``/etc -> /host/etc``,
``/opt -> <canary dir on the host>``, ``/usr/local/share/x -> ../../../(...)/<canary dir>`` (a relative link
that climbs far above any mount point), a dangling ``/var/dangling -> <second host dir>`` and a loop
``/loop1 <-> /loop2``. The image also holds its own ``<canary dir>`` (a file of different content), so a
confined write has somewhere to land. The canary directories on the host are snapshotted (names, contents)
before anything runs and compared afterwards.

The ISOs carry ``evil -> /etc/passwd`` and ``canary -> <canary dir>`` symlinks next to a tiny squashfs root.

Everything runs in one playbook (module fixture); the tests below only look at the results. The tiny root
has no shell, so no scripts, packages or users are configured.
"""

import json
import os

import pytest

from conftest import inspect_image, run_playbook, sh, sha256
from tiny_images import (OS_RELEASE, make_disk, make_iso, make_squashfs_root, own_leaks, snapshot, tiny_root_tree,
                         write_tree)

pytestmark = pytest.mark.root

UP = "../" * 24  # far more than the depth of any mount point of the image root on the host
NOWHERE = "/liveiso-test-nowhere"  # on neither the host nor in the image


def file_spec(destination):
    return {"content": "pwned via %s\n" % destination, "destination": destination}


def saved_config(**changes):
    """/liveiso/config.json of a Live ISO made by this collection (what the fast path reads)."""
    config = {"format": 1, "generator": "liveiso.customizer test", "boot_id": "0123456789abcdef",
              "volume_label": "HOSTILE", "kernel_version": "6.1.0-test", "image_args": [], "extra_args": [],
              "additional_files": {}, "boot_modes": ["bios", "uefi"], "secure_boot": False, "compression": "zstd",
              "compression_level": None}
    config.update(changes)
    return json.dumps(config)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Build the hostile inputs, run every module call in one playbook; return paths, results and snapshots."""
    base = str(tmp_path_factory.mktemp("hostile"))
    canary = str(tmp_path_factory.mktemp("canary"))
    canary2 = str(tmp_path_factory.mktemp("canary-dangling"))
    for directory in (canary, canary2):
        write_tree(directory, files={"/canary.txt": "host canary: must never change\n", "/sub/deep.txt": "deep\n"})
    out = os.path.join(base, "out")
    os.mkdir(out)
    p = {"base": base, "canary": canary, "canary2": canary2, "out": out}

    # the hostile disk image: symlinks at host paths, plus a real /usr/lib/os-release so that the root is found
    tree = tiny_root_tree(os.path.join(base, "tree"), files={
        "/host/etc/os-release": OS_RELEASE, "/usr/lib/os-release": OS_RELEASE,
        canary + "/canary.txt": "the image's own copy\n"})
    os.unlink(os.path.join(tree, "etc/os-release"))
    os.rmdir(os.path.join(tree, "etc"))
    write_tree(tree, dirs=["/usr/local/share", "/var"], links={
        "/etc": "/host/etc", "/opt": canary, "/usr/local/share/x": UP + canary.lstrip("/"),
        "/var/dangling": canary2, "/var/nowhere": NOWHERE + "/dir", "/loop1": "/loop2", "/loop2": "/loop1"})
    p["disk"] = make_disk(os.path.join(base, "hostile.raw"), tree)
    # the same, but its only os-release is reached through the absolute /etc symlink
    etc_only = tiny_root_tree(os.path.join(base, "tree-etc-only"), files={"/host/etc/os-release": OS_RELEASE})
    os.unlink(os.path.join(etc_only, "etc/os-release"))
    os.rmdir(os.path.join(etc_only, "etc"))
    write_tree(etc_only, links={"/etc": "/host/etc"})
    p["disk-etc-only"] = make_disk(os.path.join(base, "etc-only.raw"), etc_only)
    dirs_source = write_tree(os.path.join(base, "dir-source"), files={"/a.txt": "a\n", "/sub/b.txt": "b\n"})

    # hostile ISOs: a tiny squashfs root, symlinks out of the medium
    squash = make_squashfs_root(os.path.join(base, "rootfs.img"),
                                tiny_root_tree(os.path.join(base, "squash-tree"), dirs=["/lib/modules/6.1.0-test"]))
    links = {"/evil": "/etc/passwd", "/canary": canary}

    def iso(name, files=None, boot_kernel=False):
        media_tree = write_tree(os.path.join(base, "media-" + name), files=files or {}, links=links)
        os.makedirs(os.path.join(media_tree, "liveos"))
        sh("cp", squash, os.path.join(media_tree, "liveos", "rootfs.img"))
        if boot_kernel:
            write_tree(media_tree, files={"/boot/vmlinuz-6.1.0-test": "not a kernel\n"})
        return make_iso(os.path.join(base, name + ".iso"), media_tree, label="HOSTILE")

    p["iso-mic"] = iso("mic")  # the reference tool's layout: no saved config, so it is rebuilt -> no kernel
    p["iso-ours"] = iso("ours", files={"/liveiso/config.json": saved_config()})  # ours: the fast path
    # exactly as many '..' as climb from <out>/.liveiso-build-*/kept-files/ (where kept files are extracted) to /
    escape = "/" + "../" * (out.count("/") + 2) + canary.lstrip("/") + "/pwned-kept"
    p["kept-escape"] = escape
    p["iso-kept"] = iso("kept", boot_kernel=True, files={
        "/liveiso/config.json": saved_config(additional_files={escape: "0" * 64}),
        canary + "/pwned-kept": "escaped through a kept media file\n"})

    pwned_source = os.path.join(base, "pwned-source.txt")
    with open(pwned_source, "w") as handle:
        handle.write("pwned from the iso section\n")
    iso_files = {"additionalFiles": [{"source": pwned_source, "destination": "/evil"},
                                     {"source": pwned_source, "destination": "/canary/pwned.txt"}]}
    tasks = {
        "disk": ("image_customize", dict(image=p["disk"], output=os.path.join(out, "confined.raw"), config={"os": {
            "hostname": "hostile",
            "additionalFiles": [file_spec("/opt/pwned.txt"), file_spec("/etc/pwned.txt"),
                                file_spec("/usr/local/share/x/pwned")],
            "additionalDirs": [{"source": dirs_source, "destination": "/usr/local/share/x/tree"},
                               {"source": dirs_source, "destination": "/etc/tree"}]}})),
        "dangling": ("image_customize", dict(image=p["disk"], output=os.path.join(out, "dangling.raw"),
                                             config={"os": {"additionalFiles": [file_spec("/var/dangling/pwned")]}})),
        "nowhere": ("image_customize", dict(image=p["disk"], output=os.path.join(out, "nowhere.raw"),
                                            config={"os": {"additionalFiles": [file_spec("/var/nowhere/pwned")]}})),
        "loop": ("image_customize", dict(image=p["disk"], output=os.path.join(out, "loop.raw"),
                                         config={"os": {"additionalFiles": [file_spec("/loop1/pwned")]}})),
        "dotdot": ("image_customize", dict(image=p["disk"], output=os.path.join(out, "dotdot.raw"), config={"os": {
            "additionalFiles": [file_spec("/opt/" + UP + canary.lstrip("/") + "/pwned.txt")]}})),
        "etc-only": ("image_customize", dict(image=p["disk-etc-only"], output=os.path.join(out, "etc-only.raw"),
                                             config={"os": {"additionalFiles": [file_spec("/etc/pwned.txt")]}})),
        "iso-mic": ("liveos_iso", dict(image=p["iso-mic"], output=os.path.join(out, "mic.iso"), iso=iso_files)),
        "iso-ours": ("liveos_iso", dict(image=p["iso-ours"], output=os.path.join(out, "ours.iso"), iso=iso_files)),
        "iso-kept": ("liveos_iso", dict(image=p["iso-kept"], output=os.path.join(out, "kept.iso"),
                                        compression="gzip")),  # a different compression: rebuilt, files kept
    }
    watched = {"canary": canary, "canary2": canary2}
    p["before"] = dict((name, snapshot(path)) for name, path in watched.items())
    p["host-files"] = ["/etc/passwd", "/etc/hostname", "/etc/pwned.txt", "/host", "/opt/pwned.txt", "/loop1",
                       "/loop2", "/pwned-kept", NOWHERE]
    p["host-before"] = dict((path, sha256(path) if os.path.isfile(path) else os.path.lexists(path))
                            for path in p["host-files"])
    order = list(tasks)
    results = run_playbook(base, [{"name": name, "liveiso.customizer.%s" % tasks[name][0]: tasks[name][1]}
                                  for name in order])[1]
    p["results"] = dict(zip(order, results))
    p["outputs"] = dict((name, tasks[name][1]["output"]) for name in order)
    p["after"] = dict((name, snapshot(path)) for name, path in watched.items())
    p["host-after"] = dict((path, sha256(path) if os.path.isfile(path) else os.path.lexists(path))
                           for path in p["host-files"])
    p["leaks"] = own_leaks(tmp_path_factory.getbasetemp())
    return p


def test_host_untouched(hostile):
    """Whatever succeeded or failed: the host canaries and host paths the links name are exactly as before."""
    assert hostile["after"] == hostile["before"]
    assert hostile["host-after"] == hostile["host-before"]
    assert hostile["leaks"] == ("", [])


def test_writes_through_symlinks_land_inside_the_image(hostile):
    """Files and directories whose destinations pass through the hostile links are written at the links'
    targets inside the image; the links themselves are left as they were."""
    result = hostile["results"]["disk"]
    assert not result.get("failed"), result.get("msg")
    canary = hostile["canary"]
    with inspect_image(hostile["outputs"]["disk"]) as img:
        # read through resolved in-image paths only: the image's absolute links would lead to the host
        assert img.read("/host/etc/pwned.txt") == "pwned via /etc/pwned.txt\n"
        assert img.read("/host/etc/hostname") == "hostile\n"
        assert img.read(canary + "/pwned.txt") == "pwned via /opt/pwned.txt\n"
        assert img.read(canary + "/pwned") == "pwned via /usr/local/share/x/pwned\n"
        assert img.read(canary + "/tree/sub/b.txt") == "b\n"
        assert img.read("/host/etc/tree/a.txt") == "a\n"
        assert img.read(canary + "/canary.txt") == "the image's own copy\n"
        assert os.readlink(img.path("/etc")) == "/host/etc"
        assert os.readlink(img.path("/opt")) == canary
        assert os.readlink(img.path("/usr/local/share/x")) == UP + canary.lstrip("/")


def test_dangling_link_target_is_created_inside_the_image(hostile):
    """/var/dangling -> <host dir 2>, which exists on the host but not in the image: the missing directory is
    created inside the image (its parent exists there) and the file lands in it."""
    result = hostile["results"]["dangling"]
    assert not result.get("failed"), result.get("msg")
    with inspect_image(hostile["outputs"]["dangling"]) as img:
        assert img.read(hostile["canary2"] + "/pwned") == "pwned via /var/dangling/pwned\n"
        assert os.readlink(img.path("/var/dangling")) == hostile["canary2"]
        assert not img.exists(hostile["canary2"] + "/canary.txt")  # the host's files did not come in either


def test_dangling_link_without_parent_fails_inside_the_image(hostile):
    """/var/nowhere -> /liveiso-test-nowhere/dir, whose parent exists nowhere: directories are not created
    through links recursively, so the build fails naming the destination's directory; nothing on the host."""
    result = hostile["results"]["nowhere"]
    assert result.get("failed")
    assert "cannot create directory /var/nowhere in the image: No such file or directory." in result["msg"]
    assert not os.path.exists(hostile["outputs"]["nowhere"])


def test_symlink_loop_is_an_image_error(hostile):
    result = hostile["results"]["loop"]
    assert result.get("failed")
    assert not result["msg"].startswith("internal error"), result["msg"]
    assert "too many levels of symbolic links" in result["msg"] and "/loop1" in result["msg"]


def test_loop_does_not_hang_or_escape(hostile):
    """Whatever the message, the loop fails the build (no hang) and writes nothing."""
    result = hostile["results"]["loop"]
    assert result.get("failed") and "too many levels of symbolic links" in result["msg"]
    assert not os.path.exists(hostile["outputs"]["loop"])


def test_dotdot_destination_is_a_config_error(hostile):
    """safe_path.image_path() refuses any '..' component before anything is built (it does not normalise)."""
    result = hostile["results"]["dotdot"]
    assert result.get("failed") and result.get("error") == "ConfigError"
    assert "config.os.additionalFiles[0].destination: '/opt/../../" in result["msg"]
    assert "contains '..'. Use a plain absolute path." in result["msg"]
    assert not os.path.exists(hostile["outputs"]["dotdot"])


def test_root_found_through_absolute_etc_link(hostile):
    """docs/configuration.md: an absolute link such as /etc -> /srv/etc leads to <image>/srv/etc. The root
    whose only os-release is /etc/os-release via /etc -> /host/etc is a Linux root."""
    result = hostile["results"]["etc-only"]
    assert not result.get("failed"), result.get("msg")


def test_iso_links_not_followed_when_rebuilding(hostile):
    """An ISO in the reference tool's layout is rebuilt, which needs a kernel on the media: it fails for that
    reason, having written nothing through evil -> /etc/passwd or canary -> <host dir>."""
    result = hostile["results"]["iso-mic"]
    assert result.get("failed")
    assert "%s has no kernel under /boot." % hostile["iso-mic"] in result["msg"]
    assert "Rebuild it from its disk image." in result["msg"]
    assert not os.path.exists(hostile["outputs"]["iso-mic"])


def test_iso_fast_path_replaces_links_on_the_medium(hostile, tmp_path):
    """Our own layout takes the fast path: the new media files replace the links on the ISO, never their
    targets on the host."""
    result = hostile["results"]["iso-ours"]
    assert not result.get("failed"), result.get("msg")
    assert result["build_path"] == "remaster"
    output = hostile["outputs"]["iso-ours"]
    listing = sh("xorriso", "-indev", output, "-lsl", "/", "/canary")
    evil = [line for line in listing.splitlines() if line.endswith("'evil'")]
    assert evil and evil[0].startswith("-"), listing  # a regular file now, not a link
    sh("xorriso", "-osirrox", "on", "-indev", output, "-extract", "/canary/pwned.txt", str(tmp_path / "p"))
    assert (tmp_path / "p").read_text() == "pwned from the iso section\n"


def test_iso_kept_file_cannot_escape(hostile):
    """A saved config naming a media file '/../../<host canary>/pwned-kept': when the ISO is rebuilt, kept
    media files are extracted under the build directory; this one must not land in the host canary."""
    result = hostile["results"]["iso-kept"]
    assert result.get("failed")
    assert not os.path.exists(os.path.join(hostile["canary"], "pwned-kept"))
    assert not os.path.exists(hostile["outputs"]["iso-kept"])


def test_iso_kept_file_escape_is_an_image_error(hostile):
    result = hostile["results"]["iso-kept"]
    assert result.get("error") == "ImageError", result["msg"]
    assert "/liveiso/config.json" in result["msg"] and hostile["kept-escape"] in result["msg"]
