# SPDX-License-Identifier: GPL-3.0-or-later
"""digest.py: build identity, tree digests and build stamps."""

import hashlib
import json
import os
import shutil

import pytest

from ansible_collections.liveiso.customizer.plugins.module_utils._build import stamp as stamps
from ansible_collections.liveiso.customizer.plugins.module_utils._config.model import parse_config
from ansible_collections.liveiso.customizer.plugins.module_utils._core import hashing as digest

OPTS = {"output_format": "qcow2"}
INPUT = "a" * 64


@pytest.fixture
def base(tmp_path):
    b = tmp_path / "cfg"
    (b / "files").mkdir(parents=True)
    (b / "files" / "motd").write_text("hello\n")
    (b / "tree" / "sub").mkdir(parents=True)
    (b / "tree" / "sub" / "a.conf").write_text("a=1\n")
    (b / "tree" / "top.txt").write_text("top\n")
    (b / "post.sh").write_text("echo post\n")
    return b


def data():
    return {
        "os": {
            "hostname": "web01",
            "additionalFiles": [{"source": "files/motd", "destination": "/etc/motd"}],
            "additionalDirs": [{"source": "tree", "destination": "/opt/tree"}],
            "users": [{"name": "bob", "password": {"type": "plain-text", "value": "Digest-Secret-99"}}],
        },
        "scripts": {"postCustomization": [{"path": "post.sh"}]},
    }


def d(config, kind="image_customize", input_sha=INPUT, options=None, version="0.1.0"):
    return stamps.build_digest(kind, input_sha, config, OPTS if options is None else options, version)


def test_build_digest_stable(base):
    first = d(parse_config(data(), str(base)))
    assert len(first) == 64 and int(first, 16) >= 0
    assert d(parse_config(data(), str(base))) == first
    # dict order in the raw config does not matter for the typed model
    reordered = dict(reversed(list(data().items())))
    assert d(parse_config(reordered, str(base))) == first
    # options dict order does not matter
    assert d(parse_config(data(), str(base)), options={"b": 1, "a": 2}) == \
        d(parse_config(data(), str(base)), options={"a": 2, "b": 1})


def test_build_digest_changes_with_config(base):
    first = d(parse_config(data(), str(base)))
    changed = data()
    changed["os"]["hostname"] = "web02"
    assert d(parse_config(changed, str(base))) != first
    changed = data()
    changed["os"]["users"][0]["password"]["value"] = "Digest-Secret-100"
    assert d(parse_config(changed, str(base))) != first
    changed = data()
    changed["os"]["additionalFiles"][0]["permissions"] = "600"
    assert d(parse_config(changed, str(base))) != first


def test_build_digest_secret_not_in_clear(base):
    # The password enters only through the hash: nothing in the digest leaks it.
    assert "Digest-Secret-99" not in d(parse_config(data(), str(base)))


def test_build_digest_changes_with_referenced_file_content(base):
    config = parse_config(data(), str(base))
    first = d(config)
    (base / "files" / "motd").write_text("hello!\n")
    second = d(config)
    assert second != first
    (base / "files" / "motd").write_text("hello\n")
    assert d(config) == first  # content, not mtime
    (base / "post.sh").write_text("echo changed\n")
    assert d(config) != first


def test_build_digest_changes_with_referenced_dir(base):
    config = parse_config(data(), str(base))
    first = d(config)
    (base / "tree" / "sub" / "a.conf").write_text("a=2\n")
    assert d(config) != first
    (base / "tree" / "sub" / "a.conf").write_text("a=1\n")
    assert d(config) == first
    (base / "tree" / "new.txt").write_text("")
    assert d(config) != first
    os.unlink(str(base / "tree" / "new.txt"))
    assert d(config) == first
    os.chmod(str(base / "tree" / "top.txt"), 0o600)
    assert d(config) != first


def test_build_digest_changes_with_kind_input_options_version(base):
    config = parse_config(data(), str(base))
    first = d(config)
    assert d(config, kind="liveos_iso") != first
    assert d(config, input_sha="b" * 64) != first
    assert d(config, options={"output_format": "raw"}) != first
    assert d(config, version="0.2.0") != first


def test_build_digest_ignores_base_dir(base, tmp_path):
    # Same typed config (absolute paths) reached from two base directories: same digest.
    absolute = data()
    absolute["os"]["additionalFiles"][0]["source"] = str(base / "files" / "motd")
    absolute["os"]["additionalDirs"][0]["source"] = str(base / "tree")
    absolute.pop("scripts")  # a script path is relative to the config directory (the reference refuses others)
    other = tmp_path / "other"
    other.mkdir()
    one = parse_config(absolute, str(base))
    two = parse_config(absolute, str(other))
    assert one.base_dir != two.base_dir
    assert d(one) == d(two)


def test_build_digest_does_not_mutate_config(base):
    config = parse_config(data(), str(base))
    d(config)
    assert config.base_dir == str(base)


def test_build_digest_changes_with_new_empty_dir(base):
    config = parse_config(data(), str(base))
    first = d(config)
    (base / "tree" / "empty").mkdir()
    assert d(config) != first


def test_tree_digest_file_is_sha256(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert digest.tree_digest(str(path)) == hashlib.sha256(b"abc").hexdigest()
    assert digest.sha256_file(str(path)) == hashlib.sha256(b"abc").hexdigest()


def test_sha256_file_large(tmp_path, monkeypatch):
    monkeypatch.setattr(digest, "CHUNK", 7)
    blob = bytes(range(256)) * 10
    path = tmp_path / "f"
    path.write_bytes(blob)
    assert digest.sha256_file(str(path)) == hashlib.sha256(blob).hexdigest()


def _tree(root):
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "c.txt").write_text("c\n")
    (root / "top").write_text("top\n")
    os.symlink("top", str(root / "link"))
    os.symlink("a/b", str(root / "dirlink"))
    return root


def test_tree_digest_dirs(tmp_path):
    one = _tree(tmp_path / "one")
    two = tmp_path / "two"
    shutil.copytree(str(one), str(two), symlinks=True)
    first = digest.tree_digest(str(one))
    assert digest.tree_digest(str(two)) == first  # location independent
    (two / "a" / "b" / "c.txt").write_text("C\n")
    assert digest.tree_digest(str(two)) != first
    (two / "a" / "b" / "c.txt").write_text("c\n")
    assert digest.tree_digest(str(two)) == first
    os.rename(str(two / "top"), str(two / "top2"))
    assert digest.tree_digest(str(two)) != first
    os.rename(str(two / "top2"), str(two / "top"))
    assert digest.tree_digest(str(two)) == first
    os.unlink(str(two / "link"))
    os.symlink("a/b/c.txt", str(two / "link"))
    assert digest.tree_digest(str(two)) != first
    os.unlink(str(two / "link"))
    os.symlink("top", str(two / "link"))
    os.unlink(str(two / "dirlink"))
    os.symlink("a", str(two / "dirlink"))
    assert digest.tree_digest(str(two)) != first
    os.unlink(str(two / "dirlink"))
    os.symlink("a/b", str(two / "dirlink"))
    assert digest.tree_digest(str(two)) == first
    os.chmod(str(two / "top"), 0o700)
    assert digest.tree_digest(str(two)) != first


def test_stamp_round_trip(tmp_path):
    out = tmp_path / "out.qcow2"
    out.write_bytes(b"output-bytes")
    ident = [1, 2, 3, 4]
    stamp = stamps.write_stamp(str(out), "d1", INPUT, ident, "o" * 64, kind="image_customize", version="9.9",
                               details={"output_format": "qcow2"})
    assert stamps.stamp_path(str(out)) == str(out) + ".liveiso.json"
    assert os.stat(str(out) + ".liveiso.json").st_mode & 0o777 == 0o644
    assert stamps.read_stamp(str(out)) == stamp
    assert stamp.digest == "d1"
    assert (stamp.input.sha256, stamp.input.identity) == (INPUT, ident)
    assert stamp.output.sha256 == "o" * 64
    assert stamp.output.size == len(b"output-bytes")
    assert stamp.output.identity == digest.file_identity(str(out))
    assert (stamp.kind, stamp.version, stamp.format) == ("image_customize", "9.9", 2)
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".")] == []  # no temp file left
    with open(str(out) + ".liveiso.json") as handle:
        on_disk = json.load(handle)
    # the JSON keeps the keys it always had (details at the top level) and says its format
    assert on_disk == {"format": 2, "digest": "d1", "kind": "image_customize", "version": "9.9",
                       "output_format": "qcow2", "input": {"sha256": INPUT, "identity": ident},
                       "output": {"sha256": "o" * 64, "size": 12, "identity": stamp.output.identity}}

    assert stamps.output_is_current(str(out), stamp, "d1") is True
    assert stamps.output_is_current(str(out), stamp, "d2") is False
    assert stamps.output_is_current(str(out), None, "d1") is False
    # touching the output (mtime changes) makes it not current
    st = os.stat(str(out))
    os.utime(str(out), ns=(st.st_atime_ns, st.st_mtime_ns + 1000000000))
    assert stamps.output_is_current(str(out), stamp, "d1") is False
    # rewriting the stamp after the touch makes it current again
    stamp = stamps.write_stamp(str(out), "d1", INPUT, ident, "o" * 64)
    assert stamps.output_is_current(str(out), stamps.read_stamp(str(out)), "d1") is True
    os.unlink(str(out))
    assert stamps.output_is_current(str(out), stamp, "d1") is False


def test_stamp_of_format_1_is_read_and_others_are_not(tmp_path):
    """Stamps written before the typed model (no "format") still make a rerun a no-op; a stamp of a format
    this version does not know, or a damaged one, is no stamp (the output is rebuilt, nothing fails)."""
    out = tmp_path / "out.iso"
    out.write_bytes(b"iso")
    old = {"digest": "d", "kind": "liveos_iso", "version": "0.1.0", "live": {"build_path": "full"},
           "input": {"sha256": INPUT, "identity": [1, 2, 3, 4]},
           "output": {"sha256": None, "size": 3, "identity": digest.file_identity(str(out))}}
    (tmp_path / "out.iso.liveiso.json").write_text(json.dumps(old))
    stamp = stamps.read_stamp(str(out))
    assert stamp.format == 2 and stamp.details == {"live": {"build_path": "full"}} and stamp.output.sha256 is None
    assert stamps.output_is_current(str(out), stamp, "d")
    for bad in (dict(old, format=3), dict(old, input=[]), dict(old, output={"size": 3}), [old], "x"):
        (tmp_path / "out.iso.liveiso.json").write_text(json.dumps(bad))
        assert stamps.read_stamp(str(out)) is None, bad


def test_output_is_current_size_change(tmp_path):
    out = tmp_path / "out.raw"
    out.write_bytes(b"1234")
    stamp = stamps.write_stamp(str(out), "d", INPUT, [0, 0, 0, 0], "x")
    st = os.stat(str(out))
    with open(str(out), "ab") as handle:
        handle.write(b"5")
    os.utime(str(out), ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, different size
    assert stamps.output_is_current(str(out), stamp, "d") is False


def test_read_stamp_missing_or_corrupt(tmp_path):
    out = str(tmp_path / "out.raw")
    assert stamps.read_stamp(out) is None
    with open(out + ".liveiso.json", "w") as handle:
        handle.write("{not json")
    assert stamps.read_stamp(out) is None


def test_input_checksum_reuses_stamp(tmp_path):
    image = tmp_path / "in.raw"
    image.write_bytes(b"disk" * 1000)
    real = hashlib.sha256(b"disk" * 1000).hexdigest()
    sha, ident = stamps.input_checksum(str(image), None)
    assert sha == real
    assert ident == digest.file_identity(str(image))
    st = os.stat(str(image))
    assert ident == [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]
    # A stamp whose identity matches: its checksum is trusted (a fake one proves no re-hash happened).
    stamp = stamps.Stamp("d", stamps.FileRecord("f" * 64, ident), stamps.FileRecord(None, [0, 0, 0, 0]))
    assert stamps.input_checksum(str(image), stamp) == ("f" * 64, ident)
    # Through a JSON round trip, as read from disk.
    assert stamps.input_checksum(str(image), stamps.Stamp.from_json(json.loads(json.dumps(stamp.to_json()))))[0] \
        == "f" * 64
    # Identity differs (file rewritten): hashed again.
    image.write_bytes(b"DISK" * 1001)
    sha, ident2 = stamps.input_checksum(str(image), stamp)
    assert sha == hashlib.sha256(b"DISK" * 1001).hexdigest()
    assert ident2 != ident
    # Same size, new mtime: hashed again too.
    stamp = stamps.Stamp("d", stamps.FileRecord("f" * 64, ident2), stamps.FileRecord(None, [0, 0, 0, 0]))
    image.write_bytes(b"DASK" * 1001)
    os.utime(str(image), ns=(ident2[1], ident2[1] + 1000000000))
    sha = stamps.input_checksum(str(image), stamp)[0]
    assert sha == hashlib.sha256(b"DASK" * 1001).hexdigest()
    assert stamps.input_checksum(str(image), None)[0] == sha


def test_input_checksum_reuses_the_inputs_own_stamp(tmp_path):
    base = tmp_path / "base.iso"
    base.write_bytes(b"base iso bytes")
    stamps.write_stamp(str(base), "d", "in", [0], "cafe" * 16)
    assert stamps.input_checksum(str(base), None) == ("cafe" * 16, digest.file_identity(str(base)))
    base.write_bytes(b"changed bytes!")  # not the file the stamp describes any more
    assert stamps.input_checksum(str(base), None)[0] == digest.sha256_file(str(base))


def test_stamp_checksum_completes_a_stamp_without_one(tmp_path):
    """An output built with checksum: false has none in its stamp; asked for later, it is hashed once, the
    stamp completed, the output untouched (still current)."""
    out = tmp_path / "site.iso"
    out.write_bytes(b"iso-bytes")
    stamp = stamps.write_stamp(str(out), "d1", INPUT, [1, 2, 3, 4], None)
    assert stamps.stamp_checksum(str(out), stamp, wanted=False) is None
    assert stamps.read_stamp(str(out)).output.sha256 is None
    identity = digest.file_identity(str(out))
    want = hashlib.sha256(b"iso-bytes").hexdigest()
    assert stamps.stamp_checksum(str(out), stamp, wanted=True) == want
    assert stamps.read_stamp(str(out)).output.sha256 == want
    assert digest.file_identity(str(out)) == identity
    assert stamps.output_is_current(str(out), stamps.read_stamp(str(out)), "d1") is True
    # a known checksum is returned as recorded, not recomputed
    stamp.output.sha256 = "k" * 64
    assert stamps.stamp_checksum(str(out), stamp, wanted=True) == "k" * 64


def test_input_checksum_hashes_an_input_whose_own_stamp_has_no_checksum(tmp_path):
    base = tmp_path / "base.iso"
    base.write_bytes(b"base")
    stamps.write_stamp(str(base), "d0", INPUT, [1, 2, 3, 4], None)
    sha, identity = stamps.input_checksum(str(base), None)
    assert sha == hashlib.sha256(b"base").hexdigest()
    assert identity == digest.file_identity(str(base))
