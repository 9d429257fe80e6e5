# -*- coding: utf-8 -*-
# Copyright: liveiso.customizer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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

The reader reads untrusted bytes: a damaged or hostile ISO (loops, extents past the end, records that lie about
their lengths, huge directories) raises :class:`Unsupported` too, within bounded time and memory
(``tests/unit/plugins/module_utils/_iso/test_iso_fuzz.py``). Every field it reads or writes is named in :mod:`.ecma119`'s field table.
"""

from __future__ import annotations

import os
import re
import stat
import time
from typing import BinaryIO, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from ansible_collections.liveiso.customizer.plugins.module_utils._core.errors import ImageError
from ansible_collections.liveiso.customizer.plugins.module_utils._iso import ecma119
from ansible_collections.liveiso.customizer.plugins.module_utils._iso.ecma119 import (
    BLOCK,
    HEAD_BYTES,
    VD_PRIMARY,
    VD_SUPPLEMENTARY,
    VD_TERMINATOR,
    DirectoryRecord,
    RockRidge,
    VolumeDescriptor,
    append_block,
)

_MAX_DEPTH = 64
_MAX_ENTRIES = 100000
_MAX_DIR_BYTES = 16 << 20
_MAX_TREE_BYTES = 64 << 20  # all directories of one tree: 100000 entries take some 15 MiB
_MAX_BLOCKS = 0xFFFFFFFF  # a 32-bit block address
_JOLIET_ESCAPES = (b"%/@", b"%/C", b"%/E")
PADDING_BLOCKS = 150  # 300 KiB of zeros after the session, as xorriso pads

Piece = Tuple[int, Union[bytes, Tuple[str, int]]]
"""A part of the new session: (offset in the output, its bytes or (host path, size))."""
TableBlocks = Tuple[int, int, int]  # a tree's path tables: (size in bytes, block of the L table, of the M table)


class Unsupported(ImageError):
    """The ISO or the change has a shape this writer leaves to xorriso (the message says which). An
    :class:`ImageError`, so that ``grow(writer="here")`` can let it through to the user as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _record_date(seconds: int) -> bytes:
    try:
        return ecma119.record_date(seconds)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None


class Entry(object):
    """One directory record of one tree (a file or a directory) and, for a directory, its contents."""

    def __init__(self, ident: bytes, name: str, record: bytes, is_dir: bool) -> None:
        self.ident = ident  # identifier in the record
        self.name = name  # the name readers see (Rock Ridge NM, or the Joliet name)
        self.record = record  # raw record (from the input, or built here); address and size set on writing
        self.is_dir = is_dir
        self.children: List[Entry] = []  # for directories: entries other than "." and ".."
        self.dot: bytes = b""  # for directories: raw "." and ".." records
        self.dotdot: bytes = b""
        self.extent = DirectoryRecord.EXTENT.number(record)
        self.size = DirectoryRecord.DATA_LENGTH.number(record)
        self.data: Optional[str] = None  # host path of a file's new content
        self.parent: Entry = self  # the directory it is in (a root: itself)

    def child(self, name: str) -> Optional[Entry]:
        for entry in self.children:
            if entry.name == name:
                return entry
        return None

    def add(self, entry: Entry) -> None:
        entry.parent = self
        self.children.append(entry)


class Tree(object):
    """The directory tree a volume descriptor points at, read from the ISO file."""

    def __init__(self, handle: BinaryIO, size: int, descriptor: bytearray, joliet: bool) -> None:
        self.handle, self.file_size, self.joliet = handle, size, joliet
        self.descriptor = descriptor
        self.entries = 0
        self.bytes_read = 0
        self.end = 0  # the end of the last extent a record points at (of a file: if it has bytes)
        self.seen: Set[int] = set()
        self.root = Entry(DirectoryRecord.DOT, "", VolumeDescriptor.ROOT_RECORD.raw(descriptor), True)
        self._read_dir(self.root, 0)

    def _read(self, extent: int, size: int) -> bytes:
        if size > _MAX_DIR_BYTES or extent * BLOCK + size > self.file_size \
                or extent < ecma119.DESCRIPTOR_BLOCK:
            raise Unsupported("a directory extent outside the ISO (block %d, %d bytes)" % (extent, size))
        self.bytes_read += size
        if self.bytes_read > _MAX_TREE_BYTES:
            raise Unsupported("directories of more than %d MiB in all" % (_MAX_TREE_BYTES >> 20))
        self.end = max(self.end, extent * BLOCK + size)
        self.handle.seek(extent * BLOCK)
        data = self.handle.read(size)
        if len(data) != size:
            raise Unsupported("a directory extent past the end of the ISO")
        return data

    @staticmethod
    def _records(data: bytes) -> Iterator[bytes]:
        """The directory records in a directory's extent ``data``."""
        position = 0
        while position < len(data):
            length = DirectoryRecord.LENGTH.number(data, position)
            if length == 0:  # the rest of this block is padding
                position = (position // BLOCK + 1) * BLOCK
                continue
            record = data[position:position + length]
            position += length
            if length < DirectoryRecord.MIN_LENGTH or len(record) != length \
                    or DirectoryRecord.HEADER + DirectoryRecord.IDENTIFIER_LENGTH.number(record) > length:
                raise Unsupported("a malformed directory record")
            yield record

    def _read_dir(self, directory: Entry, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise Unsupported("directories nested deeper than %d" % _MAX_DEPTH)
        if directory.extent in self.seen:
            raise Unsupported("a directory linked twice (block %d)" % directory.extent)
        self.seen.add(directory.extent)
        for record in self._records(self._read(directory.extent, directory.size)):
            self.entries += 1
            if self.entries > _MAX_ENTRIES:
                raise Unsupported("more than %d entries" % _MAX_ENTRIES)
            flags, ident = DirectoryRecord.FLAGS.number(record), ecma119.record_identifier(record)
            if flags & DirectoryRecord.FLAG_MULTI_EXTENT:
                raise Unsupported("a file stored in several extents")
            if ident == DirectoryRecord.DOT:
                directory.dot = record
                continue
            if ident == DirectoryRecord.DOTDOT:
                directory.dotdot = record
                continue
            entry = Entry(ident, self._name(record, ident), record, bool(flags & DirectoryRecord.FLAG_DIRECTORY))
            directory.add(entry)
            if entry.is_dir:
                self._read_dir(entry, depth + 1)
            elif entry.size:
                self.end = max(self.end, entry.extent * BLOCK + entry.size)
        if not directory.dot or not directory.dotdot:
            raise Unsupported("a directory without its '.' and '..' records")

    def _name(self, record: bytes, ident: bytes) -> str:
        if self.joliet:
            try:
                name = ident.decode("utf-16-be")
            except UnicodeDecodeError:
                raise Unsupported("a Joliet name that is not UCS-2") from None
            return name[:-2] if name.endswith(";1") else name
        entries = list(ecma119.system_use_entries(ecma119.record_system_use(record)))
        names = [entry for sig, entry in entries if sig == b"NM"]
        if any(sig == b"CE" for sig, entry in entries):
            raise Unsupported("Rock Ridge entries continued in another block")
        if len(names) != 1 or len(names[0]) < RockRidge.NM_NAME or RockRidge.NM_FLAGS.number(names[0]) != 0:
            raise Unsupported("a record without a single plain Rock Ridge name")
        return names[0][RockRidge.NM_NAME:].decode("utf-8", "surrogateescape")

    def walk(self) -> List[Entry]:
        """Directories in path table order: by depth, then by parent, then by identifier."""
        level, order = [self.root], []
        while level:
            order.extend(level)
            level = [child for directory in level for child in directory.children if child.is_dir]
        return order


# ------------------------------------------------------------------------------------------- new records

_ISO_CHARS = re.compile(r"[^A-Z0-9_]")


def iso_identifier(name: str, is_dir: bool) -> bytes:
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


def joliet_identifier(name: str) -> bytes:
    if len(name) > 103 or any(ord(c) > 0xFFFF or c in "*/:;?\\" for c in name):
        raise Unsupported("a name Joliet cannot hold as it is: %r" % name)
    return name.encode("utf-16-be")


def _record(ident: bytes, seconds: int, is_dir: bool, susp: bytes = b"") -> bytes:
    """A new directory record; its address and size are set on writing."""
    flags = DirectoryRecord.FLAG_DIRECTORY if is_dir else 0
    try:
        return ecma119.directory_record(ident, 0, 0, _record_date(seconds), flags, susp)
    except ValueError:
        raise Unsupported("a directory record longer than 255 bytes") from None


def _rock_ridge(mode: int, seconds: int, name: Optional[str] = None) -> bytes:
    date = _record_date(seconds)
    entries = ecma119.system_use_entry(b"PX", RockRidge.PX_LENGTH, (
        (RockRidge.PX_MODE, mode), (RockRidge.PX_LINKS, 1), (RockRidge.PX_UID, 0), (RockRidge.PX_GID, 0)))
    entries += ecma119.system_use_entry(b"TF", RockRidge.TF_STAMPS,
                                        ((RockRidge.TF_FLAGS, RockRidge.TF_MODIFY_ACCESS_ATTRIBUTES),), date * 3)
    if name is not None:
        encoded = name.encode("utf-8", "surrogateescape")
        if len(encoded) > 200:
            raise Unsupported("a name longer than 200 bytes")
        entries += ecma119.system_use_entry(b"NM", RockRidge.NM_NAME, ((RockRidge.NM_FLAGS, 0),), encoded)
    return entries


def _volume_ids(label: str) -> Tuple[bytes, bytes]:
    """``label`` as the primary volume descriptor's volume identifier and as the Joliet one's (UCS-2, its first
    16 characters)."""
    field = VolumeDescriptor.VOLUME_ID
    try:
        return field.encode(label.encode("ascii")), field.encode(label[:16].ljust(16).encode("utf-16-be"))
    except (UnicodeEncodeError, ValueError):
        raise Unsupported("a volume label ISO 9660 cannot hold as it is: %r" % label) from None


def _advance(block: int, blocks: int) -> int:
    """``block + blocks``, if the session and its padding still end within 32-bit block addresses."""
    if block + blocks + PADDING_BLOCKS > _MAX_BLOCKS:
        raise Unsupported("a session past the last block an ISO 9660 volume can address")
    return block + blocks


# ------------------------------------------------------------------------------------------- the session

class Session(object):
    """A new session for ``iso`` with ``mappings`` [(host path, media path)] added or replaced.

    ``descriptors`` are the new volume descriptors for blocks 16 on, ``pieces`` the session as
    [(offset in the output, bytes or (host path, size))], ``start`` its first block, ``end`` the output's size
    in bytes (the gaps between pieces are zeros).
    """

    def __init__(self, iso: str, label: str, mappings: Sequence[Tuple[str, str]],
                 source_date_epoch: Optional[int] = None) -> None:
        self.now = source_date_epoch if source_date_epoch is not None else int(time.time())
        self.epoch = source_date_epoch
        self.volume_ids = _volume_ids(label)
        try:
            self.volume_date = ecma119.volume_date(self.now)
        except ValueError as exc:
            raise Unsupported(str(exc)) from None
        self._read(iso)
        for host, media in mappings:
            self._apply(host, media)
        self.end = 0
        self.pieces: List[Piece] = []
        self._layout()

    def _read(self, iso: str) -> None:
        """The input's head, volume descriptors and both trees."""
        with open(iso, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            self.input_head = handle.read(HEAD_BYTES)
            if len(self.input_head) < HEAD_BYTES:
                raise Unsupported("an ISO shorter than %d bytes" % HEAD_BYTES)
            self.descriptors = self._descriptors(self.input_head)
            self.primary, self.joliet = self._volumes(self.descriptors)
            volume_blocks = VolumeDescriptor.VOLUME_SPACE_SIZE.number(self.primary)
            if volume_blocks * BLOCK > size:
                raise Unsupported("a volume of %d blocks in a file of %d bytes" % (volume_blocks, size))
            self.trees = [Tree(handle, size, self.primary, False), Tree(handle, size, self.joliet, True)]
        used = max(tree.end for tree in self.trees)
        if used > volume_blocks * BLOCK:  # the session would overwrite it
            raise Unsupported("a file or directory past the end of the volume (byte %d of %d)"
                              % (used, volume_blocks * BLOCK))
        root_entries = ecma119.system_use_entries(ecma119.record_system_use(self.trees[0].root.dot))
        if not any(signature == b"SP" for signature, entry in root_entries):
            raise Unsupported("no Rock Ridge")
        self.start = _advance(append_block(volume_blocks), 0)

    @staticmethod
    def _descriptors(head: bytes) -> List[bytearray]:
        descriptors = []
        for block in range(ecma119.DESCRIPTOR_BLOCK, HEAD_BYTES // BLOCK):
            data = bytearray(head[block * BLOCK:(block + 1) * BLOCK])
            if not ecma119.is_descriptor(data):
                raise Unsupported("no volume descriptor set in block %d" % block)
            descriptors.append(data)
            if VolumeDescriptor.TYPE.number(data) == VD_TERMINATOR:
                return descriptors
        raise Unsupported("no volume descriptor set terminator")

    @staticmethod
    def _volumes(descriptors: List[bytearray]) -> Tuple[bytearray, bytearray]:
        """The primary and the Joliet volume descriptor."""
        primary = [d for d in descriptors if VolumeDescriptor.TYPE.number(d) == VD_PRIMARY]
        joliet = [d for d in descriptors if VolumeDescriptor.TYPE.number(d) == VD_SUPPLEMENTARY]
        if len(primary) != 1 or len(joliet) != 1 \
                or not VolumeDescriptor.ESCAPE_SEQUENCES.raw(joliet[0]).startswith(_JOLIET_ESCAPES):
            raise Unsupported("not exactly one primary and one Joliet volume descriptor")
        if VolumeDescriptor.FILE_STRUCTURE_VERSION.number(primary[0]) != 1:
            raise Unsupported("an ISO 9660:1999 tree")
        return primary[0], joliet[0]

    # -- changes (planned in both trees)

    def _apply(self, host: str, media: str) -> None:
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
            leaf = Entry(ident, parts[-1], _record(ident, seconds, False, susp), False)
            self._insert(directory, leaf)
            leaf.data, leaf.size = host, info.st_size

    def _new_dir(self, tree: Tree, parent: Entry, name: str) -> Entry:
        ident = joliet_identifier(name) if tree.joliet else iso_identifier(name, True)
        if tree.joliet:
            own = dot = b""
        else:
            own, dot = _rock_ridge(0o40555, self.now, name), _rock_ridge(0o40555, self.now)
        entry = Entry(ident, name, _record(ident, self.now, True, own), True)
        entry.dot = _record(DirectoryRecord.DOT, self.now, True, dot)
        parent_susp = b"" if tree.joliet else _rock_ridge(0o40555, self.now)
        entry.dotdot = _record(DirectoryRecord.DOTDOT, self.now, True, parent_susp)
        self._insert(parent, entry)
        return entry

    @staticmethod
    def _insert(directory: Entry, entry: Entry) -> None:
        if any(child.ident == entry.ident for child in directory.children):
            raise Unsupported("%r would share its ISO 9660 name with another entry" % entry.name)
        directory.add(entry)
        directory.children.sort(key=lambda child: child.ident)

    # -- layout

    def _layout(self) -> None:
        """Lays the session out from :attr:`start` (see the module's docstring): directories of both trees,
        path tables, new files' data, then the directories' bytes (now that every address is known) and the
        volume descriptors."""
        ordered = [tree.walk() for tree in self.trees]
        block = self._assign_directory_extents(ordered, self.start)
        tables, pieces, block = self._place_path_tables(ordered, block)
        files, block = self._assign_file_extents(ordered, block)
        pieces += files + self._directory_pieces(ordered)
        self.end = _advance(block, PADDING_BLOCKS) * BLOCK
        self.pieces = sorted(pieces, key=lambda piece: piece[0])
        self._patch_descriptors(block + PADDING_BLOCKS, tables)

    @staticmethod
    def _records(directory: Entry) -> List[bytes]:
        """The directory's records ("." and ".." first), as they are before their addresses are set."""
        return [directory.dot, directory.dotdot] + [child.record for child in directory.children]

    @staticmethod
    def _positions(records: List[bytes]) -> Tuple[List[int], int]:
        """Where each record goes in the directory's extent (none crosses a block boundary), and its size."""
        positions, end = [], 0
        for record in records:
            if end % BLOCK + len(record) > BLOCK:
                end += BLOCK - end % BLOCK
            positions.append(end)
            end += len(record)
        return positions, end + -end % BLOCK

    def _dir_bytes(self, directory: Entry) -> bytes:
        """The directory's records, with their addresses, packed into blocks."""
        records = self._records(directory)
        positions, size = self._positions(records)
        out = bytearray(size)
        for position, record, entry in zip(positions, records, [directory, directory.parent] + directory.children):
            out[position:position + len(record)] = ecma119.with_address(record, entry.extent, entry.size)
        return bytes(out)

    def _assign_directory_extents(self, ordered: List[List[Entry]], block: int) -> int:
        """Sizes (they do not depend on addresses), then extents, of every directory, tree after tree."""
        for dirs in ordered:
            for directory in dirs:
                directory.size = self._positions(self._records(directory))[1]
                directory.extent = block
                block = _advance(block, directory.size // BLOCK)
        return block

    def _place_path_tables(self, ordered: List[List[Entry]],
                           block: int) -> Tuple[List[TableBlocks], List[Piece], int]:
        """Each tree's L and M path tables, from ``block``."""
        tables: List[TableBlocks] = []
        pieces: List[Piece] = []
        for dirs in ordered:
            table_l, table_m = self._path_tables(dirs)
            table_blocks = -(-len(table_l) // BLOCK)  # the M table has the L table's size
            tables.append((len(table_l), block, block + table_blocks))
            pieces += [(block * BLOCK, table_l), ((block + table_blocks) * BLOCK, table_m)]
            block = _advance(block, 2 * table_blocks)
        return tables, pieces, block

    @staticmethod
    def _path_tables(dirs: List[Entry]) -> Tuple[bytes, bytes]:
        if len(dirs) > ecma119.PathTableRecord.MAX_PARENT:
            raise Unsupported("more than 65535 directories")
        number = {id(directory): index + 1 for index, directory in enumerate(dirs)}
        little, big = [], []
        for directory in dirs:
            ident = DirectoryRecord.DOT if directory.parent is directory else directory.ident
            parent = number[id(directory.parent)]
            little.append(ecma119.path_table_record(ident, directory.extent, parent, big_endian=False))
            big.append(ecma119.path_table_record(ident, directory.extent, parent, big_endian=True))
        return b"".join(little), b"".join(big)

    @staticmethod
    def _assign_file_extents(ordered: List[List[Entry]], block: int) -> Tuple[List[Piece], int]:
        """Extents of the new files, from ``block``: a new file's data once, both trees pointing at it."""
        pieces: List[Piece] = []
        files: Dict[str, int] = {}
        for dirs in ordered:
            for directory in dirs:
                for child in directory.children:
                    if child.data is None:
                        continue
                    if child.data not in files:
                        files[child.data] = block
                        if child.size:
                            pieces.append((block * BLOCK, (child.data, child.size)))
                        block = _advance(block, -(-child.size // BLOCK))
                    child.extent = files[child.data]
        return pieces, block

    def _directory_pieces(self, ordered: List[List[Entry]]) -> List[Piece]:
        """Every directory's bytes, at its extent."""
        return [(directory.extent * BLOCK, self._dir_bytes(directory)) for dirs in ordered for directory in dirs]

    def _patch_descriptors(self, volume_blocks: int, tables: List[TableBlocks]) -> None:
        """The new session's primary and Joliet volume descriptors (every other field is the input's)."""
        vd = VolumeDescriptor
        for descriptor, tree, volume_id, (table_size, table_l, table_m) in zip(
                (self.primary, self.joliet), self.trees, self.volume_ids, tables):
            vd.VOLUME_ID.write(descriptor, volume_id)
            vd.VOLUME_SPACE_SIZE.write(descriptor, volume_blocks)
            vd.PATH_TABLE_SIZE.write(descriptor, table_size)
            vd.L_PATH_TABLE.write(descriptor, table_l)
            vd.OPTIONAL_L_PATH_TABLE.write(descriptor, 0)
            vd.M_PATH_TABLE.write(descriptor, table_m)
            vd.OPTIONAL_M_PATH_TABLE.write(descriptor, 0)
            root = ecma119.with_address(vd.ROOT_RECORD.raw(descriptor), tree.root.extent, tree.root.size)
            vd.ROOT_RECORD.write(descriptor, root)
            vd.CREATION_DATE.write(descriptor, self.volume_date)
            vd.MODIFICATION_DATE.write(descriptor, self.volume_date)

    def head(self) -> bytes:
        """The output's first 64 KiB: the input's, with the new volume descriptors in blocks 16 on."""
        head = bytearray(self.input_head)
        for block, descriptor in enumerate(self.descriptors, ecma119.DESCRIPTOR_BLOCK):
            head[block * BLOCK:(block + 1) * BLOCK] = descriptor
        return bytes(head)
