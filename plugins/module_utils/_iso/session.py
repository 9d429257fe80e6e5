# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new ISO 9660 session written here, for the per-site fast path (private to this collection).

The fast path adds or replaces a handful of small media files (seeds, grub.cfg, the saved config) on a Live
ISO made by this collection. xorriso can do it, but every xorriso write waits in two fixed 100 ms polls while
its writer threads start, which is most of a site's cost. This module writes the same kind of session itself:
it reads the ISO's two directory trees (ISO 9660 with Rock Ridge, and Joliet), applies the changes, and lays
out a new session after the input's last block::

    new directories (ISO 9660 + Rock Ridge) | new directories (Joliet) | 4 path tables | new files' data

plus new volume descriptors for the input's blocks 16+ (label, volume size, path tables and root directory;
the El Torito boot record and every other byte of the input stay as they are). Every unchanged file keeps its
blocks, so the input's boot catalog, boot images, MBR and GPT stay valid, as when xorriso grows an ISO.

Records of unchanged entries are copied from the input byte for byte (only their block address and size are
set anew); records of new entries follow the input's conventions (Rock Ridge PX, TF and NM entries; Joliet
names without version). Anything else (no Joliet or no Rock Ridge tree, multi-extent files, continued
entries, names that would collide) raises :class:`Unsupported`, and the caller lets xorriso do it.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import time

from ansible_collections.liveiso.customizer.plugins.module_utils._iso.ecma119 import BLOCK, HEAD_BYTES, append_block

_MAX_DEPTH = 64
_MAX_ENTRIES = 100000
_MAX_DIR_BYTES = 16 << 20
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")
PADDING_BLOCKS = 150  # 300 KiB of zeros after the session, as xorriso pads


class Unsupported(Exception):
    """The ISO or the change has a shape this writer leaves to xorriso (the message says which)."""


def _both16(value):
    return struct.pack("<H", value) + struct.pack(">H", value)


def _both32(value):
    return struct.pack("<I", value) + struct.pack(">I", value)


def _record_date(seconds):
    t = time.gmtime(seconds)
    if not 0 <= t.tm_year - 1900 <= 255:
        raise Unsupported("a date a directory record cannot hold (%d)" % t.tm_year)
    return bytes((t.tm_year - 1900, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0))


def _volume_date(seconds):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(seconds)).encode("ascii") + b"00\x00"


class Entry(object):
    """One directory record of one tree (a file or a directory) and, for a directory, its contents."""

    def __init__(self, ident, name, record, is_dir):
        self.ident = ident  # identifier in the record (bytes)
        self.name = name  # the name readers see (Rock Ridge NM, or the Joliet name)
        self.record = record  # raw record (from the input, or built here); address and size set on writing
        self.is_dir = is_dir
        self.children = []  # for directories: entries other than "." and ".."
        self.dot = self.dotdot = None  # for directories: raw "." and ".." records
        self.extent = struct.unpack_from("<I", record, 2)[0]
        self.size = struct.unpack_from("<I", record, 10)[0]
        self.data = None  # host path of a file's new content
        self.parent = None  # set when the session is laid out

    def child(self, name):
        for entry in self.children:
            if entry.name == name:
                return entry
        return None


def _susp(record):
    """The System Use area of a directory record (where Rock Ridge entries live)."""
    ident_len = record[32]
    return record[33 + ident_len + (0 if ident_len % 2 else 1):]


def _susp_entries(area):
    entries, position = [], 0
    while position + 4 <= len(area):
        length = area[position + 2]
        if length < 4 or position + length > len(area):
            break
        entries.append((area[position:position + 2], area[position:position + length]))
        position += length
    return entries


class Tree(object):
    """The directory tree a volume descriptor points at, read from the ISO file."""

    def __init__(self, handle, size, descriptor, joliet):
        self.handle, self.file_size, self.joliet = handle, size, joliet
        self.descriptor = descriptor
        self.entries = 0
        self.seen = set()
        root_record = bytes(descriptor[156:190])
        self.root = Entry(b"\x00", "", root_record, True)
        self._read_dir(self.root, 0)

    def _read(self, extent, size):
        if size > _MAX_DIR_BYTES or extent * BLOCK + size > self.file_size or extent < 16:
            raise Unsupported("a directory extent outside the ISO (block %d, %d bytes)" % (extent, size))
        self.handle.seek(extent * BLOCK)
        data = self.handle.read(size)
        if len(data) != size:
            raise Unsupported("a directory extent past the end of the ISO")
        return data

    def _read_dir(self, directory, depth):
        if depth > _MAX_DEPTH:
            raise Unsupported("directories nested deeper than %d" % _MAX_DEPTH)
        if directory.extent in self.seen:
            raise Unsupported("a directory linked twice (block %d)" % directory.extent)
        self.seen.add(directory.extent)
        data = self._read(directory.extent, directory.size)
        position = 0
        while position < len(data):
            length = data[position]
            if length == 0:  # the rest of this block is padding
                position = (position // BLOCK + 1) * BLOCK
                continue
            record = data[position:position + length]
            position += length
            if length < 34 or len(record) != length or 33 + record[32] > length:
                raise Unsupported("a malformed directory record")
            self.entries += 1
            if self.entries > _MAX_ENTRIES:
                raise Unsupported("more than %d entries" % _MAX_ENTRIES)
            flags, ident = record[25], record[33:33 + record[32]]
            if flags & 0x80:
                raise Unsupported("a file stored in several extents")
            if ident == b"\x00":
                directory.dot = record
                continue
            if ident == b"\x01":
                directory.dotdot = record
                continue
            entry = Entry(ident, self._name(record, ident), record, bool(flags & 2))
            directory.children.append(entry)
            if entry.is_dir:
                self._read_dir(entry, depth + 1)
        if directory.dot is None or directory.dotdot is None:
            raise Unsupported("a directory without its '.' and '..' records")

    def _name(self, record, ident):
        if self.joliet:
            try:
                name = ident.decode("utf-16-be")
            except UnicodeDecodeError:
                raise Unsupported("a Joliet name that is not UCS-2")
            return name[:-2] if name.endswith(";1") else name
        entries = _susp_entries(_susp(record))
        names = [entry for sig, entry in entries if sig == b"NM"]
        if any(sig == b"CE" for sig, entry in entries):
            raise Unsupported("Rock Ridge entries continued in another block")
        if len(names) != 1 or names[0][4] != 0:
            raise Unsupported("a record without a single plain Rock Ridge name")
        return names[0][5:].decode("utf-8", "surrogateescape")

    def walk(self):
        """Directories in path table order: by depth, then by parent, then by identifier."""
        level, order = [self.root], []
        while level:
            order.extend(level)
            level = [child for directory in level for child in directory.children if child.is_dir]
        return order


# ------------------------------------------------------------------------------------------- new records

_ISO_CHARS = re.compile(r"[^A-Z0-9_]")


def iso_identifier(name, is_dir):
    """The ISO 9660 identifier xorriso gives ``name`` (level 3, full 31-character names, version ;1)."""
    upper = name.upper()
    if is_dir:
        ident = re.sub(r"[^A-Z0-9_.]", "_", upper)[:31]
        return ident.encode("ascii")
    base, dot, ext = upper.rpartition(".")
    if not dot:
        base, ext = upper, ""
    base, ext = _ISO_CHARS.sub("_", base), _ISO_CHARS.sub("_", ext)
    if len(base) + len(ext) > 30:
        base = base[:max(30 - len(ext), 1)]
        ext = ext[:30 - len(base)]
    return ("%s.%s;1" % (base, ext)).encode("ascii")


def joliet_identifier(name):
    if len(name) > 103 or any(ord(c) > 0xFFFF or c in "*/:;?\\" for c in name):
        raise Unsupported("a name Joliet cannot hold as it is: %r" % name)
    return name.encode("utf-16-be")


def _record(ident, extent, size, seconds, is_dir, susp=b""):
    pad = b"" if len(ident) % 2 else b"\x00"
    body = (b"\x00" + _both32(extent) + _both32(size) + _record_date(seconds) + bytes((2 if is_dir else 0, 0, 0))
            + _both16(1) + bytes((len(ident),)) + ident + pad + susp)
    if len(body) % 2 == 0:  # the record's length (one byte more) must be even
        body += b"\x00"
    if len(body) + 1 > 255:
        raise Unsupported("a directory record longer than 255 bytes")
    return bytes((len(body) + 1,)) + body


def _rock_ridge(mode, seconds, name=None):
    entries = b"PX" + bytes((36, 1)) + _both32(mode) + _both32(1) + _both32(0) + _both32(0)
    entries += b"TF" + bytes((26, 1, 0x0E)) + _record_date(seconds) * 3
    if name is not None:
        encoded = name.encode("utf-8", "surrogateescape")
        if len(encoded) > 200:
            raise Unsupported("a name longer than 200 bytes")
        entries += b"NM" + bytes((5 + len(encoded), 1, 0)) + encoded
    return entries


def _with_address(record, extent, size):
    record = bytearray(record)
    record[2:10] = _both32(extent)
    record[10:18] = _both32(size)
    return bytes(record)


# ------------------------------------------------------------------------------------------- the session

class Session(object):
    """A new session for ``iso`` with ``mappings`` [(host path, media path)] added or replaced.

    ``descriptors`` are the new volume descriptors for blocks 16 on, ``pieces`` the session as
    [(offset in the output, bytes or (host path, size))], ``end`` the output's size in bytes (the gaps
    between pieces are zeros).
    """

    def __init__(self, iso, label, mappings, source_date_epoch=None):
        self.now = source_date_epoch if source_date_epoch is not None else int(time.time())
        self.epoch = source_date_epoch
        with open(iso, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self.input_head = handle.read(HEAD_BYTES)
            if len(self.input_head) < HEAD_BYTES:
                raise Unsupported("an ISO shorter than %d bytes" % HEAD_BYTES)
            self.descriptors = self._descriptors(self.input_head)
            primary = [d for d in self.descriptors if d[0] == 1]
            joliet = [d for d in self.descriptors if d[0] == 2]
            if len(primary) != 1 or len(joliet) != 1 or joliet[0][88:91] not in _JOLIET_ESCAPES:
                raise Unsupported("not exactly one primary and one Joliet volume descriptor")
            if primary[0][881] != 1:
                raise Unsupported("an ISO 9660:1999 tree")
            self.trees = [Tree(handle, size, primary[0], False), Tree(handle, size, joliet[0], True)]
        if self.trees[0].root.dot is None or b"SP" not in self.trees[0].root.dot:
            raise Unsupported("no Rock Ridge")
        self.start = append_block(struct.unpack_from("<I", primary[0], 80)[0])
        for host, media in mappings:
            self._apply(host, media)
        self._layout(label)

    @staticmethod
    def _descriptors(head):
        descriptors = []
        for block in range(16, HEAD_BYTES // BLOCK):
            data = bytearray(head[block * BLOCK:(block + 1) * BLOCK])
            if data[1:6] != b"CD001":
                raise Unsupported("no volume descriptor set in block %d" % block)
            descriptors.append(data)
            if data[0] == 255:
                return descriptors
        raise Unsupported("no volume descriptor set terminator")

    # -- changes

    def _apply(self, host, media):
        parts = [p for p in media.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise Unsupported("media path %r" % media)
        info = os.stat(host)
        if not stat.S_ISREG(info.st_mode) or info.st_size >= 1 << 32:
            raise Unsupported("%s is not a regular file under 4 GiB" % host)
        seconds = self.epoch if self.epoch is not None else int(info.st_mtime)
        mode = 0o100444 | (0o111 if info.st_mode & 0o111 else 0)
        for tree in self.trees:
            directory = tree.root
            for part in parts[:-1]:
                found = directory.child(part)
                if found is None:
                    found = self._new_dir(tree, directory, part)
                elif not found.is_dir:
                    raise Unsupported("%s is a file on the ISO" % part)
                directory = found
            leaf = directory.child(parts[-1])
            if leaf is not None and leaf.is_dir:
                raise Unsupported("%s is a directory on the ISO" % media)
            if leaf is None:
                ident = joliet_identifier(parts[-1]) if tree.joliet else iso_identifier(parts[-1], False)
            else:  # a new record, not the old one retimed: the old may be a link or carry other entries
                ident = leaf.ident
                directory.children.remove(leaf)
            susp = b"" if tree.joliet else _rock_ridge(mode, seconds, parts[-1])
            leaf = Entry(ident, parts[-1], _record(ident, 0, 0, seconds, False, susp), False)
            self._insert(directory, leaf)
            leaf.data, leaf.size = host, info.st_size

    def _new_dir(self, tree, parent, name):
        ident = joliet_identifier(name) if tree.joliet else iso_identifier(name, True)
        if tree.joliet:
            own = dot = b""
        else:
            own, dot = _rock_ridge(0o40555, self.now, name), _rock_ridge(0o40555, self.now)
        entry = Entry(ident, name, _record(ident, 0, 0, self.now, True, own), True)
        entry.dot = _record(b"\x00", 0, 0, self.now, True, dot)
        parent_susp = b"" if tree.joliet else _rock_ridge(0o40555, self.now)
        entry.dotdot = _record(b"\x01", 0, 0, self.now, True, parent_susp)
        self._insert(parent, entry)
        return entry

    @staticmethod
    def _insert(directory, entry):
        if any(child.ident == entry.ident for child in directory.children):
            raise Unsupported("%r would share its ISO 9660 name with another entry" % entry.name)
        directory.children.append(entry)
        directory.children.sort(key=lambda child: child.ident)

    # -- layout

    @staticmethod
    def _dir_bytes(directory, address):
        """The directory's records, packed into blocks; ``address(entry)`` gives (extent, size)."""
        out = bytearray()
        records = [_with_address(directory.dot, *address(directory)),
                   _with_address(directory.dotdot, *address(directory.parent))]
        for child in directory.children:
            records.append(_with_address(child.record, *address(child)))
        for record in records:
            if len(out) % BLOCK + len(record) > BLOCK:
                out += bytes(BLOCK - len(out) % BLOCK)
            out += record
        out += bytes(-len(out) % BLOCK)
        return out

    def _layout(self, label):
        block = self.start
        pieces = []
        ordered = []
        for tree in self.trees:
            dirs = tree.walk()
            tree.root.parent = tree.root
            for directory in dirs:
                for child in directory.children:
                    child.parent = directory
            # sizes first (they do not depend on addresses), then addresses
            for directory in dirs:
                directory.size = len(self._dir_bytes(directory, lambda entry: (0, 0)))
                directory.extent = block
                block += directory.size // BLOCK
            ordered.append(dirs)
        tables = []
        for dirs in ordered:
            table_l, table_m = self._path_tables(dirs)
            table_blocks = -(-len(table_l) // BLOCK)  # the M table has the L table's size
            tables.append((len(table_l), block, block + table_blocks))
            pieces += [(block * BLOCK, table_l), ((block + table_blocks) * BLOCK, table_m)]
            block += 2 * table_blocks
        files = {}
        for dirs in ordered:  # a new file's data once, both trees pointing at it
            for directory in dirs:
                for child in directory.children:
                    if child.data is None:
                        continue
                    if child.data not in files:
                        files[child.data] = block
                        if child.size:
                            pieces.append((block * BLOCK, (child.data, child.size)))
                        block += -(-child.size // BLOCK)
                    child.extent = files[child.data]
        for dirs in ordered:
            for directory in dirs:
                pieces.append((directory.extent * BLOCK, bytes(self._dir_bytes(
                    directory, lambda entry: (entry.extent, entry.size)))))
        self.end = (block + PADDING_BLOCKS) * BLOCK
        self.pieces = sorted(pieces, key=lambda piece: piece[0])
        for descriptor, tree, (table_size, table_l, table_m) in zip(
                [d for d in self.descriptors if d[0] in (1, 2)], self.trees, tables):
            self._patch_descriptor(descriptor, tree, label, block + PADDING_BLOCKS, table_size, table_l, table_m)

    def _path_tables(self, dirs):
        number = {id(directory): index + 1 for index, directory in enumerate(dirs)}
        little, big = bytearray(), bytearray()
        for directory in dirs:
            ident = b"\x00" if directory.parent is directory else directory.ident
            parent = number[id(directory.parent)]
            pad = b"\x00" if len(ident) % 2 else b""
            little += bytes((len(ident), 0)) + struct.pack("<IH", directory.extent, parent) + ident + pad
            big += bytes((len(ident), 0)) + struct.pack(">IH", directory.extent, parent) + ident + pad
        if len(dirs) > 0xFFFF:
            raise Unsupported("more than 65535 directories")
        return bytes(little), bytes(big)

    def _patch_descriptor(self, descriptor, tree, label, volume_blocks, table_size, table_l, table_m):
        if tree.joliet:
            name = label[:16].encode("utf-16-be")
            descriptor[40:72] = name + b"\x00 " * ((32 - len(name)) // 2)
        else:
            descriptor[40:72] = label.encode("ascii").ljust(32, b" ")
        descriptor[80:88] = _both32(volume_blocks)
        descriptor[132:140] = _both32(table_size)
        descriptor[140:144] = struct.pack("<I", table_l)
        descriptor[144:148] = bytes(4)
        descriptor[148:152] = struct.pack(">I", table_m)
        descriptor[152:156] = bytes(4)
        descriptor[156:190] = _with_address(bytes(descriptor[156:190]), tree.root.extent, tree.root.size)
        descriptor[813:830] = descriptor[830:847] = _volume_date(self.now)

    def head(self):
        """The output's first 64 KiB: the input's, with the new volume descriptors in blocks 16 on."""
        head = bytearray(self.input_head)
        for index, descriptor in enumerate(self.descriptors):
            head[(16 + index) * BLOCK:(17 + index) * BLOCK] = descriptor
        return bytes(head)
