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

Reading is defensive (:func:`open_archive`, :func:`checked_members`, :func:`extract_member`):
an archive is refused, with an :class:`~auditor.errors.InputError` naming the member, when
unpacking it could write outside the target folder (absolute paths, ``..``, drive letters,
backslashes), when it holds links, folders or encrypted members, repeats a name (also up to
letter case), or declares sizes or compression ratios of a decompression bomb.
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

from auditor.errors import InputError

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "CorruptMember",
    "Entry",
    "canonical_sha256",
    "checked_members",
    "entry_of",
    "extract_member",
    "open_archive",
    "unsafe_name_reason",
    "write_canonical_zip",
]

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 0xFFFF_FFFF  # the canonical form has no zip64: every size and offset fits 32 bits
MAX_TOTAL_BYTES = 0xFFFF_FFFF
MAX_RATIO = 200  # uncompressed:compressed; text reaches ~15:1, zip bombs 1000:1 and more
RATIO_FLOOR = 1 << 20  # small members may compress as well as they like
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
        raise InputError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
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


def checked_members(zf: zipfile.ZipFile, *, where: str) -> list[zipfile.ZipInfo]:
    """The archive's members, or an :class:`InputError` naming the first that is unsafe to unpack."""
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
    clash = sorted(folders & set(seen))
    if clash:
        raise InputError(f"member {seen[clash[0]]!r} is both a file and a folder; the archive is refused", source=where)
    return infos


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path) -> Entry:
    """Unpack one (checked) member under ``root``; its :class:`Entry` as read, or :class:`CorruptMember`."""
    target = root.joinpath(*info.filename.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    size, crc, sha = 0, 0, hashlib.sha256()
    # Errors while reading the archive mean damaged bytes (a bad offset seeks nowhere: OSError);
    # errors while writing the copy are this machine's and propagate.
    unreadable = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, struct.error, OSError)
    try:
        src = zf.open(info)
    except unreadable as exc:
        raise CorruptMember(f"cannot be read back: {type(exc).__name__}: {exc}") from None
    with src, open(target, "xb") as out:
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
                break
            size += len(chunk)
            if size > info.file_size:  # zipfile stops at the declared size; this is a second guard
                raise CorruptMember(f"more bytes than the {info.file_size:,} its header declares")
            crc = zlib.crc32(chunk, crc)
            sha.update(chunk)
            out.write(chunk)
    return Entry(info.filename, size, crc, sha.hexdigest(), path=target)
