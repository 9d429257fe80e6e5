# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzzing the ISO readers, which read untrusted files: session.py's tree reader (with the changes and layout that
follow it) and ecma119's descriptor parsing (next_writable_block, grown_head).

A deterministic mutation fuzzer (``random.Random`` seeded per case) damages real ISOs built as the other ISO tests
build them: bytes flipped and fields set to edge values in volume descriptors, directory records (ISO 9660 and
Joliet), Rock Ridge entries, path tables and the El Torito catalog; truncations; directories that point at
themselves, their parent or the root. Every case must end in a :class:`CustomizerError` (the readers' refusal:
``Unsupported`` or another ``ImageError``) or in a correct result, never in another exception, and within
:data:`LIMIT` seconds. A correct result is a session whose layout holds together (pieces in order inside the
session, descriptors pointing into it), whose output, read back, has both trees with the new files where the
session put them, and which, for damage to bytes the reader does not read (path tables, the boot catalog),
is the session of the undamaged ISO.

``benchmarks/fuzz_iso.py`` runs the same cases by the hundred thousand; ``python benchmarks/fuzz_iso.py --case
TARGET:INDEX`` replays one.
"""

import os
import sys
import random
import re
import shutil
import time
import traceback
from collections import Counter

import pytest
# the ISO helpers of test_iso_media.py beside this file (ansible-test units does not put this directory on
# sys.path); hybrid_isos is its fixture, imported for this module
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_iso_media import XORRISO, hybrid_isos, make_tree  # noqa: F401 pylint: disable=unused-import

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import CustomizerError
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import ecma119
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import session as iso_session
from ansible_collections.liveiso.customizer.plugins.module_utils._iso.ecma119 import (
    BLOCK,
    HEAD_BYTES,
    BootRecord,
    DirectoryRecord,
    Field,
    Kind,
    PathTableRecord,
    RockRidge,
    SystemUseEntry,
    VolumeDescriptor,
)

CASES = 2000  # in the unit test, over all targets
LIMIT = 1.0  # seconds a case may take
SEED = 20240601
EPOCH = 1700000000
CATEGORIES = {  # category: weight
    "descriptor": 16, "record": 16, "rock-ridge": 14, "joliet": 10, "path-table": 8, "el-torito": 6,
    "truncate": 8, "loop": 8, "random": 10, "splice": 4,
}
NEW_FILE, REPLACED = "/fuzz/new dir/new.txt", "/boot/vmlinuz"


def _fields(table):
    """[(name, Field)] of a class of ecma119's field table."""
    return [("%s.%s" % (table.__name__, name), value) for name, value in vars(table).items()
            if isinstance(value, Field)]


class Structure(object):
    """One structure of an ISO, in the file: where it starts, how long it is, the fields it has."""

    def __init__(self, offset, length, fields=(), **about):
        self.offset, self.length, self.fields, self.about = offset, length, list(fields), about


# ------------------------------------------------------------------------------------------- the targets

def _record_offsets(data, extent, size):
    """Offsets in the file of the directory records in the extent (extent, size) of ``data``."""
    position, start, offsets = 0, extent * BLOCK, []
    while position < size:
        length = data[start + position]
        if length == 0:
            position = (position // BLOCK + 1) * BLOCK
            continue
        offsets.append(start + position)
        position += length
    return offsets


def _system_use_entries(data, record):
    """(offset in the file, signature, length) of the SUSP entries of the record at ``record``."""
    length = DirectoryRecord.LENGTH.number(data, record)
    ident = DirectoryRecord.IDENTIFIER_LENGTH.number(data, record)
    position = record + DirectoryRecord.HEADER + ident + (0 if ident % 2 else 1)
    entries = []
    while position + SystemUseEntry.HEADER <= record + length:
        size = SystemUseEntry.LENGTH.number(data, position)
        if size < SystemUseEntry.HEADER:
            break
        entries.append((position, SystemUseEntry.SIGNATURE.raw(data, position), size))
        position += size
    return entries


_SUSP_FIELDS = {signature: [(name, field) for name, field in _fields(RockRidge) if name.startswith("RockRidge." + tag)]
                for signature, tag in ((b"PX", "PX_"), (b"TF", "TF_"), (b"NM", "NM_"))}


class Target(object):
    """A pristine ISO, the structures the fuzzer damages in it, and what the readers make of it undamaged."""

    def __init__(self, name, path, work_dir, host_dir):
        self.name = name
        with open(path, "rb") as handle:
            self.data = handle.read()
        self.work = os.path.join(work_dir, name + ".fuzzed.iso")
        self.out = os.path.join(work_dir, name + ".out.iso")
        shutil.copyfile(path, self.work)
        self.fd = os.open(self.work, os.O_RDWR)  # the damage is done and undone through it
        self.out_fd = os.open(self.out, os.O_RDWR | os.O_CREAT, 0o644)
        self.blocks = len(self.data) // BLOCK
        files = make_tree(os.path.join(host_dir, name), {"new.txt": "new file\n" * 300, "vmlinuz": "kernel 2\n"})
        self.mappings = [(os.path.join(files, "new.txt"), NEW_FILE), (os.path.join(files, "vmlinuz"), REPLACED)]
        self.regions = {category: [] for category in CATEGORIES}
        self._locate()
        self.directories = [DirectoryRecord.EXTENT.number(self.data, s.offset) for s in self.regions["loop"]]
        self.baseline = iso_session.Session(self.work, "FUZZ", self.mappings, EPOCH)

    def close(self):
        os.close(self.fd)
        os.close(self.out_fd)

    def _locate(self):
        descriptors = iso_session.Session._descriptors(self.data[:HEAD_BYTES])
        for index, descriptor in enumerate(descriptors):
            offset = (16 + index) * BLOCK
            self.regions["descriptor"].append(Structure(offset, BLOCK, _fields(VolumeDescriptor)))
            kind = VolumeDescriptor.TYPE.number(descriptor)
            if kind == ecma119.VD_BOOT:
                self.regions["descriptor"].append(Structure(offset, BLOCK, _fields(BootRecord)))
                catalog = BootRecord.BOOT_CATALOG.number(descriptor)
                self.regions["el-torito"].append(Structure(catalog * BLOCK, BLOCK))
            if kind in (ecma119.VD_PRIMARY, ecma119.VD_SUPPLEMENTARY):
                self._locate_path_tables(descriptor)
        for tree in _read_trees(self.work):
            for directory in tree.walk():
                self._locate_records(tree, directory)

    def _locate_path_tables(self, descriptor):
        size = VolumeDescriptor.PATH_TABLE_SIZE.number(descriptor)
        for table, side in ((VolumeDescriptor.L_PATH_TABLE, "L_"), (VolumeDescriptor.M_PATH_TABLE, "M_")):
            fields = [(name, field) for name, field in _fields(PathTableRecord)  # the L or the M numbers
                      if not name.endswith(("_EXTENT", "_PARENT")) or name.split(".")[1].startswith(side)]
            start = position = table.number(descriptor) * BLOCK
            while position < start + size:
                length = PathTableRecord.HEADER + self.data[position] + self.data[position] % 2
                self.regions["path-table"].append(Structure(position, length, fields))
                position += length

    def _locate_records(self, tree, directory):
        for offset in _record_offsets(self.data, directory.extent, directory.size):
            length = DirectoryRecord.LENGTH.number(self.data, offset)
            record = Structure(offset, length, _fields(DirectoryRecord), directory=directory.extent,
                               root=tree.root.extent)
            self.regions["joliet" if tree.joliet else "record"].append(record)
            is_dir = DirectoryRecord.FLAGS.number(self.data, offset) & DirectoryRecord.FLAG_DIRECTORY
            if is_dir and ecma119.record_identifier(self.data, offset) not in (DirectoryRecord.DOT,
                                                                               DirectoryRecord.DOTDOT):
                self.regions["loop"].append(record)
            if not tree.joliet:
                for position, signature, size in _system_use_entries(self.data, offset):
                    self.regions["rock-ridge"].append(Structure(
                        position, size, _fields(SystemUseEntry) + _SUSP_FIELDS.get(signature, []),
                        signature=signature))


# ------------------------------------------------------------------------------------------- the mutations

def _width(field):
    return {Kind.U8: 1, Kind.LE16: 2, Kind.BE16: 2, Kind.BOTH16: 2}.get(field.kind, 4)


def _edge_value(rng, field, target):
    top = (1 << (8 * _width(field))) - 1
    value = rng.choice([0, 1, 2, 3, 4, 5, 8, 15, 16, 17, 32, 33, 34, 0x7F, 0x80, 0xFF, top, top - 1, top >> 1,
                        (top >> 1) + 1,
                        target.blocks - 1, target.blocks, target.blocks + 1, len(target.data), BLOCK, BLOCK + 1,
                        rng.randrange(top + 1)])
    return value & top


def _set_field(rng, target, structure):
    """A field of ``structure`` set to an edge value (a both-endian one, sometimes in one half only)."""
    name, field = rng.choice(structure.fields)
    at = structure.offset
    if field.kind in (Kind.U8, Kind.LE16, Kind.BE16, Kind.LE32, Kind.BE32, Kind.BOTH16, Kind.BOTH32):
        value = _edge_value(rng, field, target)
        if field.kind in (Kind.BOTH16, Kind.BOTH32) and rng.random() < 0.3:
            half = Field(field.offset + rng.choice((0, field.length // 2)), field.length // 2,
                         Kind.LE16 if field.kind is Kind.BOTH16 else Kind.LE32)
            return [(at + half.offset, half.encode(value))], "%s at %d, one half = %d" % (name, at, value)
        return [(at + field.offset, field.encode(value))], "%s at %d = %d" % (name, at, value)
    data = rng.choice([bytes(rng.randrange(256) for _byte in range(field.length)), bytes(field.length),
                       b"\xff" * field.length])
    return [(at + field.offset, data)], "%s at %d = %r" % (name, at, data[:8])


def _flip(rng, target, structure, count=None):
    """Bytes of ``structure`` changed (XOR with a random non-zero byte)."""
    patches = []
    for _patch in range(count or rng.choice((1, 1, 1, 2, 3, 8))):
        offset = structure.offset + rng.randrange(max(structure.length, 1))
        if offset < len(target.data):
            patches.append((offset, bytes((target.data[offset] ^ rng.randrange(1, 256),))))
    return patches, "%d bytes flipped from %d" % (len(patches), structure.offset)


def _structure(rng, target, category):
    return rng.choice(target.regions[category])


def _loop(rng, target, structure):
    """A directory's record pointing at the directory it is in (which then holds itself), at the root, or at
    another directory (linked twice)."""
    extent = rng.choice([structure.about["directory"], structure.about["root"], rng.choice(target.directories)])
    patches = [(structure.offset + DirectoryRecord.EXTENT.offset, DirectoryRecord.EXTENT.encode(extent))]
    if rng.random() < 0.3:  # and a size past its own
        size = rng.choice([BLOCK, 2 * BLOCK, 1 << 20, len(target.data)])
        size_field = DirectoryRecord.DATA_LENGTH
        patches.append((structure.offset + size_field.offset, size_field.encode(size)))
    return patches, "directory record at %d -> block %d" % (structure.offset, extent)


def _truncate(rng, target):
    end = max(len(target.data) // BLOCK, 1)
    return rng.choice([rng.randrange(len(target.data)), rng.randrange(end) * BLOCK, rng.randrange(40) * BLOCK,
                       HEAD_BYTES - rng.randrange(1, BLOCK), len(target.data) - rng.randrange(1, 4 * BLOCK)])


def _splice(rng, target):
    """One structure's bytes over another's (a record over a record, a descriptor over a descriptor)."""
    category = rng.choice(("record", "joliet", "descriptor", "rock-ridge"))
    one, two = _structure(rng, target, category), _structure(rng, target, category)
    data = target.data[one.offset:one.offset + one.length]
    return [(two.offset, data)], "%s at %d over %d" % (category, one.offset, two.offset)


def mutate(rng, target):
    """(category, [(offset, bytes)], truncated length or None, what) for one case."""
    categories = [c for c in CATEGORIES if c in ("truncate", "random", "splice") or target.regions[c]]
    category = rng.choices(categories, weights=[CATEGORIES[c] for c in categories])[0]
    if category == "truncate":
        length = _truncate(rng, target)
        return category, [], length, "truncated to %d bytes" % length
    if category == "random":  # anywhere in the head or the first directories
        span = min(len(target.data), max(s.offset + s.length for s in target.regions["record"]))
        return (category,) + _flip(rng, target, Structure(0, span), rng.choice((1, 4, 16, 64)))[:1] + (
            None, "random bytes")
    if category == "splice":
        patches, what = _splice(rng, target)
        return category, patches, None, what
    structure = _structure(rng, target, category)
    if category == "loop":
        patches, what = _loop(rng, target, structure)
    elif structure.fields and rng.random() < 0.6:
        patches, what = _set_field(rng, target, structure)
    else:
        patches, what = _flip(rng, target, structure)
    return category, patches, None, what


# ------------------------------------------------------------------------------------------- a case

class Outcome(object):
    def __init__(self, target, index, category, what):
        self.target, self.index, self.category, self.what = target, index, category, what
        self.readers = {}  # reader: "ok", "refused: <class>", "crash: <class>", "wrong: <what>"
        self.seconds = 0.0
        self.details = []

    @property
    def failed(self):
        return self.seconds > LIMIT or any(r.startswith(("crash", "wrong")) for r in self.readers.values())

    def __str__(self):
        return "%s:%d %s (%s) %.3fs %s %s" % (self.target, self.index, self.category, self.what, self.seconds,
                                              self.readers, "\n".join(self.details))


def _apply(target, patches, length):
    for offset, data in patches:
        os.pwrite(target.fd, data, offset)
    if length is not None:
        os.ftruncate(target.fd, length)


def _restore(target, patches, length):
    """The pristine bytes back (written, never truncated to nothing: on ext4 a file truncated to zero and
    written again is flushed to disk when it is closed)."""
    for offset, data in patches:
        os.pwrite(target.fd, target.data[offset:offset + len(data)], offset)
    if length is not None:
        os.pwrite(target.fd, target.data[length:], length)


def _call(outcome, reader, function, *args):
    try:
        value = function(*args)
    except CustomizerError as exc:
        outcome.readers[reader] = "refused: %s" % type(exc).__name__
        return None
    except Exception as exc:  # what the fuzzer is for
        outcome.readers[reader] = "crash: %s" % type(exc).__name__
        outcome.details.append(traceback.format_exc())
        return None
    outcome.readers[reader] = "ok"
    return value


def _read_head(path):
    with open(path, "rb") as handle:
        return handle.read(HEAD_BYTES)


def run_case(target, index, seed=SEED):
    """Damage ``target`` as case ``index`` says, run the readers on it, check what they return."""
    rng = random.Random("%d:%s:%d" % (seed, target.name, index))
    category, patches, length, what = mutate(rng, target)
    outcome = Outcome(target.name, index, category, what)
    _apply(target, patches, length)
    try:
        start = time.perf_counter()
        block = _call(outcome, "next_writable_block", ecma119.next_writable_block, target.work)
        head = _read_head(target.work)
        _call(outcome, "grown_head", ecma119.grown_head, head, target.work, block or 1000)
        session = _call(outcome, "session", iso_session.Session, target.work, "FUZZ", target.mappings, EPOCH)
        outcome.seconds = time.perf_counter() - start
        if session is not None:
            try:
                wrong = check_session(target, session, category)
            except Exception as exc:  # a result the checks cannot even look at
                wrong = "checking it raised %s" % type(exc).__name__
                outcome.details.append(traceback.format_exc())
            if wrong:
                outcome.readers["session"] = "wrong: " + wrong
    finally:
        _restore(target, patches, length)
    return outcome


# ------------------------------------------------------------------------------------------- a correct result

def _layout_errors(session, input_size):
    """What does not hold together in ``session``'s layout (of an input of ``input_size`` bytes), or None."""
    start, end = session.start * BLOCK, session.end - iso_session.PADDING_BLOCKS * BLOCK
    if start < HEAD_BYTES:
        return "a session that starts in the head (block %d)" % session.start
    if session.start > ecma119.append_block(-(-input_size // BLOCK)):
        return "a session at block %d, past the input's end (%d bytes)" % (session.start, input_size)
    for tree in session.trees:  # what the session keeps of the input lies before it
        for directory in tree.walk():
            for entry in directory.children:
                if entry.data is None and not entry.is_dir and entry.size and entry.extent * BLOCK + entry.size > start:
                    return "a kept file (block %d, %d bytes) overlaps the session at block %d" % (
                        entry.extent, entry.size, session.start)
    position = start
    for offset, piece in session.pieces:
        size = len(piece) if isinstance(piece, bytes) else piece[1]
        if offset < position or offset + size > end or offset % BLOCK:
            return "a piece at %d (%d bytes) outside [%d, %d) or overlapping" % (offset, size, position, end)
        position = offset + size
    head = session.head()
    if len(head) != HEAD_BYTES:
        return "a head of %d bytes" % len(head)
    for descriptor in (session.primary, session.joliet):
        if VolumeDescriptor.VOLUME_SPACE_SIZE.number(descriptor) * BLOCK != session.end:
            return "a volume size that is not the output's"
        for field in (VolumeDescriptor.L_PATH_TABLE, VolumeDescriptor.M_PATH_TABLE):
            if not start <= field.number(descriptor) * BLOCK < end:
                return "a path table outside the session"
        root = VolumeDescriptor.ROOT_RECORD.raw(descriptor)
        if not start <= DirectoryRecord.EXTENT.number(root) * BLOCK < end:
            return "a root directory outside the session"
    return None


def _write_output(target, session):
    """The parts of the output file ``session`` describes that a reader of its trees reads: the head and the
    session's directories and path tables (the rest is zeros: every directory is in the session, and file data
    is not read back)."""
    os.ftruncate(target.out_fd, 0)
    os.ftruncate(target.out_fd, session.end)
    os.pwrite(target.out_fd, session.head(), 0)
    for offset, piece in session.pieces:
        if isinstance(piece, bytes):
            os.pwrite(target.out_fd, piece, offset)


def _read_trees(path):
    """The two trees of the ISO at ``path``, read as the session reads them (and nothing laid out)."""
    with open(path, "rb") as handle:
        descriptors = iso_session.Session._descriptors(handle.read(HEAD_BYTES))
        primary, joliet = iso_session.Session._volumes(descriptors)
        size = os.fstat(handle.fileno()).st_size
        return [iso_session.Tree(handle, size, primary, False), iso_session.Tree(handle, size, joliet, True)]


def _find(tree, media):
    entry = tree.root
    for part in media.strip("/").split("/"):
        entry = entry.child(part) if entry is not None else None
    return entry


def check_session(target, session, category):
    """Why ``session`` (of a damaged ``target``) is not a correct result, or None."""
    wrong = _layout_errors(session, os.path.getsize(target.work))
    if wrong:
        return wrong
    if category in ("path-table", "el-torito"):  # bytes the reader does not read: the undamaged ISO's session
        if session.pieces != target.baseline.pieces or session.descriptors != target.baseline.descriptors:
            return "damage the reader does not read changed the session"
    _write_output(target, session)
    try:
        trees = _read_trees(target.out)
    except CustomizerError as exc:
        return "its output does not read back: %s" % exc
    for host, media in target.mappings:
        with open(host, "rb") as handle:
            content = handle.read()
        for tree in trees:
            entry = _find(tree, media)
            if entry is None or entry.is_dir or entry.size != len(content):
                return "%s missing from a tree of the output" % media
            piece = dict(session.pieces).get(entry.extent * BLOCK)
            if content and piece != (host, len(content)):
                return "%s does not point at its data" % media
    return None


# ------------------------------------------------------------------------------------------- the targets built

def build_targets(isos, work_dir):
    """[Target] for ``isos`` {name: path}, plus a tree-rich ISO written by write_iso and the session written here
    of the first of them (an ISO with two sessions)."""
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import grown as grown_iso
    from ansible_collections.liveiso.customizer.plugins.module_utils._iso import xorriso as iso_media
    os.makedirs(work_dir, exist_ok=True)
    paths = dict(isos)
    files = {"boot/vmlinuz": "kernel\n", "README": "read me\n"}
    files.update(("many/file-with-a-long-name-%03d.cfg" % n, "%d\n" % n) for n in range(60))
    files.update({"a/b/c/d/e/f/g/h/deep.txt": "deep\n", "spaces and \u00fcmlauts/\u00e9.txt": "x", "empty": ""})
    tree = make_tree(os.path.join(work_dir, "rich.d"), files)
    os.symlink("README", os.path.join(tree, "link"))
    paths["rich"] = os.path.join(work_dir, "rich.iso")
    iso_media.write_iso(paths["rich"], "RICH", [("/", tree)], (), source_date_epoch=EPOCH)
    first = sorted(isos)[0] if isos else "rich"
    paths[first + "-grown"] = os.path.join(work_dir, first + "-grown.iso")
    host = make_tree(os.path.join(work_dir, "grow-host"), {"meta-data": "instance-id: x\n"})
    grown_iso.grow(paths[first], paths[first + "-grown"], os.path.join(work_dir, "s"), "GROWN",
                   [(os.path.join(host, "meta-data"), "/cloud-init-data/meta-data")], source_date_epoch=EPOCH,
                   checksum=False, writer="here")
    host_dir = os.path.join(work_dir, "host")
    return [Target(name, path, work_dir, host_dir) for name, path in sorted(paths.items())]


def run_cases(targets, cases, seed=SEED, progress=None):
    """Run ``cases`` cases spread over ``targets``: (Counter of outcomes, [failed Outcome], slowest Outcome)."""
    counts, failures, slowest = Counter(), [], None
    for index in range(cases):
        outcome = run_case(targets[index % len(targets)], index // len(targets), seed)
        for reader, result in outcome.readers.items():
            counts["%s: %s" % (reader, re.sub(r"\d+", "N", result))] += 1
        counts["category: " + outcome.category] += 1
        if outcome.failed:
            failures.append(outcome)
        if slowest is None or outcome.seconds > slowest.seconds:
            slowest = outcome
        if progress and (index + 1) % progress == 0:
            print("%d cases, %d failed" % (index + 1, len(failures)), flush=True)
    return counts, failures, slowest


@pytest.fixture(scope="module")
def targets(request, tmp_path_factory):
    if XORRISO is None:
        pytest.skip("xorriso is not installed (apt-get install xorriso)")
    try:
        isos = {"hybrid": request.getfixturevalue("hybrid_isos")["both"]}
    except pytest.skip.Exception:  # no GRUB tools here: the tree-rich ISO and its grown self only
        isos = {}
    built = build_targets(isos, str(tmp_path_factory.mktemp("fuzz")))
    yield built
    for target in built:
        target.close()


def test_targets_cover_every_category(targets):
    """Each category has something to damage in some ISO, and the undamaged ISOs are read and written here."""
    for category in CATEGORIES:
        if category not in ("truncate", "random", "splice"):
            assert any(target.regions[category] for target in targets), category
    for target in targets:
        assert check_session(target, target.baseline, "path-table") is None, target.name


def test_fuzz_iso_readers(targets):
    """Around 2,000 damaged ISOs: each read refused with a CustomizerError or read correctly, each in < 1 s."""
    counts, failures, slowest = run_cases(targets, CASES)
    summary = "\n".join("%6d  %s" % (count, key) for key, count in sorted(counts.items()))
    assert not failures, "%d of %d cases failed:\n%s\n\n%s" % (
        len(failures), CASES, "\n\n".join(str(f) for f in failures[:5]), summary)
    assert slowest.seconds < LIMIT, str(slowest)
    # the cases reach both ways out: refusals of each reader, and sessions written from damaged ISOs
    assert counts["session: ok"] > CASES // 10 and counts["session: refused: Unsupported"] > CASES // 10, summary
    assert counts["next_writable_block: refused: ImageError"] and counts["grown_head: refused: ImageError"], summary


def test_fuzz_case_is_reproducible(targets):
    """A case is its (seed, target, index): replayed, it damages the same bytes and ends the same way."""
    one, two = run_case(targets[0], 7), run_case(targets[0], 7)
    assert (one.category, one.what, one.readers) == (two.category, two.what, two.readers)
    with open(targets[0].work, "rb") as handle:
        assert handle.read() == targets[0].data  # restored after each case


def _finding(target, damage):
    """The patches (and truncated length) of a damage the fuzzer found the readers of ded517c failing on."""
    pvd = ecma119.DESCRIPTOR_BLOCK * BLOCK
    size = VolumeDescriptor.VOLUME_SPACE_SIZE
    files = [s for s in target.regions["record"] if DirectoryRecord.DATA_LENGTH.number(target.data, s.offset)
             and not DirectoryRecord.FLAGS.number(target.data, s.offset) & DirectoryRecord.FLAG_DIRECTORY]
    name = [s for s in target.regions["rock-ridge"] if s.about["signature"] == b"NM"][0]
    return {
        # IndexError: an NM entry of 4 bytes has no flags byte
        "nm-without-flags": ([(name.offset + SystemUseEntry.LENGTH.offset, SystemUseEntry.LENGTH.encode(4))], None),
        # struct.error: the volume size plus the append block does not fit 32 bits
        "volume-size-max": ([(pvd + size.offset, size.encode(0xFFFFFFFF))], None),
        # a session in the head, over the descriptors
        "volume-size-zero": ([(pvd + size.offset, size.encode(0))], None),
        # a session appended after the end of a truncated file, its data a hole
        "truncated": ([], len(target.data) - 4 * BLOCK),
        # a session written over a file's data
        "file-past-volume": ([(files[0].offset + DirectoryRecord.DATA_LENGTH.offset,
                               DirectoryRecord.DATA_LENGTH.encode(len(target.data)))], None),
    }[damage]


@pytest.mark.parametrize("damage,readers", [
    ("nm-without-flags", {"session": "a record without a single plain Rock Ridge name"}),
    ("volume-size-max", {"grown_head": "larger than an ISO 9660 volume can be",
                         "session": "a volume of 4294967295 blocks in a file of"}),
    ("volume-size-zero", {"session": "a file or directory past the end of the volume"}),
    ("truncated", {"session": "a volume of 1009 blocks in a file of"}),
    ("file-past-volume", {"session": "a file or directory past the end of the volume"}),
])
def test_fuzzer_findings_stay_fixed(targets, damage, readers):
    """The crashes and wrong sessions the fuzzer found, each refused with a reason now."""
    target = {t.name: t for t in targets}.get("hybrid")
    if target is None:
        pytest.skip("needs the hybrid ISO (GRUB tools)")
    patches, length = _finding(target, damage)
    _apply(target, patches, length)
    try:
        calls = {"grown_head": (ecma119.grown_head, _read_head(target.work), target.work, 1024),
                 "session": (iso_session.Session, target.work, "FUZZ", target.mappings, EPOCH)}
        for reader, why in readers.items():
            function, args = calls[reader][0], calls[reader][1:]
            with pytest.raises(CustomizerError) as info:
                function(*args)
            assert why in str(info.value), (reader, str(info.value))
    finally:
        _restore(target, patches, length)
