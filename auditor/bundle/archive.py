"""A canonical zip archive: the same members give the same bytes, and any changed byte shows.

Evidence bundles (:mod:`auditor.bundle`, this package) must reveal a change of any byte. Two things in an
ordinary zip file can change without a reader noticing: a compressed member (deflate ignores the
padding bits of a stream's last byte) and header fields nobody checks (timestamps, attributes,
version fields). So bundles are written in one canonical form — members *stored*, in the order
given, each with the same fixed header (1980-01-01 00:00, mode 0644, UTF-8 names, no extra
fields, no comments) — by the small writer here rather than :mod:`zipfile`, whose header choices
may change between Python versions. A verifier re-derives the canonical bytes from the members it
read (:func:`canonical_sha256`) and compares them with the archive's own hash. Any zip tool can
open the archive; :mod:`zipfile` reads it here.

Reading is defensive (:func:`open_archive`, :func:`checked_members`, :func:`read_member`,
:func:`extract_member`): an archive is refused, with an :class:`~auditor.errors.InputError`
naming the member (or the archive), when unpacking it could write outside the target folder
(absolute paths, ``..``, drive letters, backslashes), when it holds links, folders or encrypted
members, repeats a name (also up to letter case), or declares sizes or compression ratios of a
decompression bomb — one member over :data:`MAX_RATIO`, or all of them together over
:data:`MAX_ARCHIVE_RATIO` times the archive's size (:func:`unpack_limit`). The declared sizes
are checked before anything is unpacked; while unpacking, the bytes actually read are counted
against the same limit (:class:`UnpackBudget`) and against each member's declared size, so a
header that understates a size stops the copy at the size it stated.
"""

from __future__ import annotations

import hashlib
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError, os_reason

__all__ = [
    "ARCHIVE_RATIO_FLOOR",
    "MAX_ARCHIVE_RATIO",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "CorruptMember",
    "Entry",
    "UnpackBudget",
    "canonical_sha256",
    "checked_members",
    "entry_of",
    "extract_member",
    "open_archive",
    "read_member",
    "unpack_limit",
    "unsafe_name_reason",
    "write_canonical_zip",
]

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 0xFFFF_FFFF  # the canonical form has no zip64: every size and offset fits 32 bits
MAX_TOTAL_BYTES = 0xFFFF_FFFF
MAX_RATIO = 200  # one member, uncompressed:compressed; text reaches ~15:1, zip bombs 1000:1 and more
RATIO_FLOOR = 1 << 20  # small members may compress as well as they like
#: All members together, unpacked, against the archive's size on disk. The auditor's bundles are
#: stored (1:1; most of a small one is the ~11 MB ip2region database, most of a large one the
#: facility list and the reports, one byte unpacked per byte of archive however many rows). 20:1
#: still reads a bundle another tool re-zipped with deflate (text reaches 10-15:1; the xdb ~2:1),
#: so that it is reported as not canonical rather than refused; many members that each stay
#: under RATIO_FLOOR (2,000 x 1 MiB of zeros: 300:1 over the archive) are refused.
MAX_ARCHIVE_RATIO = 20
ARCHIVE_RATIO_FLOOR = 16 << 20  # a small archive may unpack to this much whatever its ratio
_CHUNK = 1 << 20

# Fixed header fields of the canonical form (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16).
_VERSION = 20  # 2.0: stored members, folders
_MADE_BY = (3 << 8) | _VERSION  # "UNIX", so that external attributes carry a file mode
_UTF8 = 0x0800  # general purpose bit 11: the name is UTF-8
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest DOS date
_DOS_TIME = 0
_FILE_MODE = (stat.S_IFREG | 0o644) << 16


@dataclass(frozen=True, slots=True)
class Entry:
    """One member to write, or one member as read back: its name, content and digests."""

    name: str
    size: int
    crc32: int
    sha256: str
    path: Path | None = None  # content on disk ...
    data: bytes | None = None  # ... or in memory

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
            return
        assert self.path is not None
        with open(self.path, "rb") as f:
            while chunk := f.read(_CHUNK):
                yield chunk


def _digest(chunks: Iterator[bytes]) -> tuple[int, int, str]:
    size, crc, sha = 0, 0, hashlib.sha256()
    for chunk in chunks:
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        sha.update(chunk)
    return size, crc, sha.hexdigest()


def entry_of(name: str, content: Path | bytes) -> Entry:
    """An :class:`Entry` for ``content`` (a file, read once here to size and hash it, or bytes)."""
    if isinstance(content, bytes):
        size, crc, sha = _digest(iter([content]))
        return Entry(name, size, crc, sha, data=content)
    probe = Entry(name, 0, 0, "", path=Path(content))
    size, crc, sha = _digest(probe.chunks())
    return Entry(name, size, crc, sha, path=Path(content))


def _local_header(name: bytes, e: Entry) -> bytes:
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, _VERSION, _UTF8, 0, _DOS_TIME, _DOS_DATE,
                       e.crc32, e.size, e.size, len(name), 0) + name


def _central_header(name: bytes, e: Entry, offset: int) -> bytes:
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, _VERSION, _UTF8, 0, _DOS_TIME, _DOS_DATE,
                       e.crc32, e.size, e.size, len(name), 0, 0, 0, 0, _FILE_MODE, offset) + name


def _content(e: Entry, *, where: str) -> Iterator[bytes]:
    """``e``'s bytes, checked against the size and digests its header was written with."""
    size, crc, sha = 0, 0, hashlib.sha256()
    for chunk in e.chunks():
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
        sha.update(chunk)
        yield chunk
    # A file that changed after it was hashed would leave a header that lies about its bytes.
    if (size, crc, sha.hexdigest()) != (e.size, e.crc32, e.sha256):
        raise InputError(f"{e.path or e.name} changed while the archive was written", source=where)


def _canonical_chunks(entries: Sequence[Entry], *, where: str) -> Iterator[bytes]:
    """The canonical archive of ``entries``, in their order, as a stream of byte strings."""
    if len(entries) > min(MAX_MEMBERS, 0xFFFF):
        raise InputError(f"{len(entries)} members, more than a bundle may hold ({MAX_MEMBERS})", source=where)
    offset = 0
    central = []
    for e in entries:
        name = e.name.encode("utf-8")
        if offset + 30 + len(name) + e.size > MAX_TOTAL_BYTES:
            raise InputError(f"member {e.name!r} takes the archive past {MAX_TOTAL_BYTES:,} bytes (no zip64 in a bundle)", source=where)
        central.append(_central_header(name, e, offset))
        header = _local_header(name, e)
        yield header
        yield from _content(e, where=where)
        offset += len(header) + e.size
    directory = b"".join(central)
    yield directory
    yield struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), offset, 0)


def write_canonical_zip(path: Path, entries: Sequence[Entry]) -> None:
    """Write ``entries`` (in order) as a canonical archive at ``path``."""
    with open(path, "wb") as f:
        for chunk in _canonical_chunks(entries, where=str(path)):
            f.write(chunk)


def canonical_sha256(entries: Sequence[Entry], *, where: str = "<archive>") -> str:
    """sha256 of the canonical archive of ``entries``, computed without writing it."""
    h = hashlib.sha256()
    for chunk in _canonical_chunks(entries, where=where):
        h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- reading
class CorruptMember(Exception):
    """A member's bytes cannot be read back as they were written (CRC, header or stream damage)."""


def open_archive(path: Path) -> zipfile.ZipFile:
    """Open a zip archive for reading; anything that is not one is an :class:`InputError`."""
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InputError("no such file", source=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a bundle archive", source=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {os_reason(exc)}", source=str(path)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable zip archive ({type(exc).__name__}: {exc})", source=str(path)) from None


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be unpacked (None: it is safe).

    >>> unsafe_name_reason("reports/report.json") is None
    True
    >>> unsafe_name_reason("../etc/passwd")
    "'..' in the path: unpacking it would write outside the folder (zip slip)"
    """
    if not name:
        return "an empty name"
    if any(ord(c) < 32 or c == "\x7f" for c in name):
        return "control characters in the name"
    if "\\" in name:
        return "a backslash in the name (a Windows path separator)"
    if name.startswith("/"):
        return "an absolute path: unpacking it would write outside the folder"
    if _DRIVE.match(name):
        return "a drive letter: unpacking it would write outside the folder"
    if name.endswith("/"):
        return "a folder entry (a bundle holds files only)"
    parts = name.split("/")
    if ".." in parts:
        return "'..' in the path: unpacking it would write outside the folder (zip slip)"
    if "" in parts or "." in parts:
        return "an empty or '.' path component"
    if len(name.encode("utf-8")) > 1024:
        return "a name longer than 1024 bytes"
    return None


def unpack_limit(archive_size: int) -> int:
    """How many bytes an archive of ``archive_size`` bytes may unpack to, all members together.

    >>> unpack_limit(12_407_244)  # the example's bundle: 248 MB, for 12.4 MB stored
    248144880
    >>> unpack_limit(10_000)  # a small archive: the floor
    16777216
    """
    return min(MAX_TOTAL_BYTES, max(ARCHIVE_RATIO_FLOOR, MAX_ARCHIVE_RATIO * archive_size))


def _archive_size(zf: zipfile.ZipFile) -> int:
    fp = zf.fp
    assert fp is not None
    here = fp.tell()
    try:
        return fp.seek(0, 2)
    finally:
        fp.seek(here)


def checked_members(zf: zipfile.ZipFile, *, where: str) -> list[zipfile.ZipInfo]:
    """The archive's members, or an :class:`InputError` naming the first that is unsafe to unpack.

    Reads the central directory only: nothing is unpacked. Refuses, besides unsafe names, links
    and repeats, a member declaring more than :data:`MAX_MEMBER_BYTES` or compressed over
    :data:`MAX_RATIO`, and members declaring together more than :func:`unpack_limit` of the
    archive's size.
    """
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(f"{len(infos)} members, more than a bundle may hold ({MAX_MEMBERS})", source=where)

    def refuse(info: zipfile.ZipInfo, why: str) -> InputError:
        return InputError(f"member {info.filename!r}: {why}; the archive is refused", source=where)

    seen: dict[str, str] = {}
    folders: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        reason = unsafe_name_reason(name)
        if reason:
            raise refuse(info, reason)
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind == stat.S_IFLNK:
            raise refuse(info, "a symbolic link")
        if kind not in (0, stat.S_IFREG):  # 0: written on a system without Unix modes
            raise refuse(info, "not a regular file")
        if info.flag_bits & 0x1:
            raise refuse(info, "encrypted")
        folded = name.casefold()
        if folded in seen:
            same = seen[folded] == name
            raise refuse(info, "appears twice" if same else f"differs from member {seen[folded]!r} only in letter case")
        seen[folded] = name
        parts = folded.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
        if info.file_size > MAX_MEMBER_BYTES:
            raise refuse(info, f"declares {info.file_size:,} bytes, more than {MAX_MEMBER_BYTES:,}")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise refuse(info, f"compressed {ratio:,.0f}:1 ({info.compress_size:,} → {info.file_size:,} bytes), a decompression bomb")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise refuse(info, f"the members add up to more than {MAX_TOTAL_BYTES:,} bytes")
    size = _archive_size(zf)
    if total > unpack_limit(size):
        raise InputError(
            f"its members would unpack to {total:,} bytes from an archive of {size:,} bytes ({total / max(size, 1):,.0f}:1), "
            f"more than the {unpack_limit(size):,} allowed ({MAX_ARCHIVE_RATIO}:1 over the whole archive, at least "
            f"{ARCHIVE_RATIO_FLOOR:,}): a decompression bomb; the archive is refused before anything is unpacked",
            source=where, hint="a bundle the auditor writes is stored uncompressed: it unpacks to about its own size",
        )
    clash = sorted(folders & set(seen))
    if clash:
        raise InputError(f"member {seen[clash[0]]!r} is both a file and a folder; the archive is refused", source=where)
    return infos


class UnpackBudget:
    """The bytes an archive may still unpack to, counted as they are actually read (not as declared).

    >>> b = UnpackBudget(10, where="x.zip")
    >>> b.take(8, "a"); b.take(2, "b"); b.left
    0
    >>> b.take(1, "c")
    Traceback (most recent call last):
    ...
    auditor.errors.InputError: x.zip: unpacking member 'c' went past 10 bytes, more than its members declared; the archive is refused
    """

    def __init__(self, limit: int, *, where: str) -> None:
        self.left = limit
        self.limit = limit
        self.where = where

    def take(self, n: int, member: str) -> None:
        self.left -= n
        if self.left < 0:
            raise InputError(f"unpacking member {member!r} went past {self.limit:,} bytes, more than its members declared; the archive is refused",
                             source=self.where)


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: UnpackBudget | None) -> Iterator[bytes]:
    """A (checked) member's bytes as read back, never more than its header declares; or :class:`CorruptMember`."""
    # Errors while reading the archive mean damaged bytes (a bad offset seeks nowhere: OSError).
    unreadable = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, struct.error, OSError)
    try:
        src = zf.open(info)
    except unreadable as exc:
        raise CorruptMember(f"cannot be read back: {type(exc).__name__}: {exc}") from None
    size = 0
    with src:
        while True:
            try:
                chunk = src.read(_CHUNK)
            except zipfile.BadZipFile as exc:
                if "CRC" in str(exc):
                    raise CorruptMember("its bytes do not match their CRC-32: changed or damaged since it was written") from None
                raise CorruptMember(f"cannot be read back: {type(exc).__name__}: {exc}") from None
            except unreadable as exc:
                raise CorruptMember(f"cannot be read back: {type(exc).__name__}: {exc}") from None
            if not chunk:
                return
            size += len(chunk)
            if size > info.file_size:  # zipfile stops at the declared size; this is a second guard
                raise CorruptMember(f"more bytes than the {info.file_size:,} its header declares")
            if budget is not None:
                budget.take(len(chunk), info.filename)
            yield chunk


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, limit: int) -> Entry:
    """One (checked) member read into memory, unpacking nothing; :class:`CorruptMember` if it
    cannot be read back or declares more than ``limit`` bytes."""
    if info.file_size > limit:
        raise CorruptMember(f"declares {info.file_size:,} bytes, more than the {limit:,} it can hold")
    data = b"".join(_chunks(zf, info, None))
    size, crc, sha = _digest(iter([data]))
    return Entry(info.filename, size, crc, sha, data=data)


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, budget: UnpackBudget | None = None) -> Entry:
    """Unpack one (checked) member under ``root``; its :class:`Entry` as read, or :class:`CorruptMember`.

    ``budget``: the bytes the whole archive may still unpack to; going past it raises
    :class:`InputError` (errors while writing the copy are this machine's and propagate).
    """
    target = root.joinpath(*info.filename.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    size, crc, sha = 0, 0, hashlib.sha256()
    with open(target, "xb") as out:
        for chunk in _chunks(zf, info, budget):
            size += len(chunk)
            crc = zlib.crc32(chunk, crc)
            sha.update(chunk)
            out.write(chunk)
    return Entry(info.filename, size, crc, sha.hexdigest(), path=target)
