"""Files added as evidence: what they are, decided from their content, and made safe to keep.

`prepare` is the one way in. It decides the kind of an upload from its bytes alone (a name or
a browser's content type is whatever the sender chose), refuses what cannot be shown without
risk, and re-encodes photos so that what is stored and shown carries no metadata: a phone's
photo holds the place it was taken (GPS) and the device, which colleagues who see the
evidence have no need to know. Documents (PDF, text, e-mail) are kept as they came.

No database and no requests here; the messages of a refusal are in the user's language when
called inside a request (Flask-Babel), in English outside one.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import io
import re
import struct
import threading
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageFile, ImageOps

MAX_PIXELS = 40_000_000
"""The most pixels a photo may have (a 40 megapixel camera). A small file can claim far more
(a "decompression bomb"), and decoding it would take all the memory of the worker."""

NAME_LENGTH = 120


class Refused(Exception):
    """The file cannot be added; `message` says why, translated, for next to the file field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Kind(enum.StrEnum):
    """What an upload is, by its content."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"
    PDF = "pdf"
    TEXT = "text"
    EMAIL = "eml"
    OUTLOOK = "msg"


@dataclass(frozen=True)
class Prepared:
    """An accepted upload, ready to store: `data` is what is kept and shown."""

    kind: Kind
    content_type: str
    data: bytes
    filename: str
    sha256: str
    size: int
    original: bytes | None


# Photos: the kind each is stored as (a HEIC is shown as JPEG, which every browser can show),
# the Pillow format it must open as, and how it is written again.
_STORED_AS = {Kind.JPEG: Kind.JPEG, Kind.PNG: Kind.PNG, Kind.WEBP: Kind.WEBP, Kind.HEIC: Kind.JPEG}
_OPENS_AS = {Kind.JPEG: "JPEG", Kind.PNG: "PNG", Kind.WEBP: "WEBP", Kind.HEIC: "HEIF"}
_SAVE = {
    Kind.JPEG: ("JPEG", {"quality": 90}),
    Kind.PNG: ("PNG", {}),
    Kind.WEBP: ("WEBP", {"quality": 90}),
}

_CONTENT_TYPES = {
    Kind.JPEG: "image/jpeg",
    Kind.PNG: "image/png",
    Kind.WEBP: "image/webp",
    Kind.PDF: "application/pdf",
    Kind.TEXT: "text/plain; charset=utf-8",
    Kind.EMAIL: "message/rfc822",
    Kind.OUTLOOK: "application/vnd.ms-outlook",
}
_EXTENSIONS = {
    Kind.JPEG: ".jpg",
    Kind.PNG: ".png",
    Kind.WEBP: ".webp",
    Kind.PDF: ".pdf",
    Kind.TEXT: ".txt",
    Kind.EMAIL: ".eml",
    Kind.OUTLOOK: ".msg",
}

_PNG = b"\x89PNG\r\n\x1a\n"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})  # also name mif1, but are not HEVC: not decodable
_BOM = b"\xef\xbb\xbf"
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# Control characters other than tab, line feed, form feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_EMAIL_FIELDS = frozenset({"from", "to", "subject", "date", "received"})
_FORBIDDEN_IN_NAMES = frozenset('<>:"/\\|?*')
_EXTENSION = re.compile(r"\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,4}$")  # .jpg, .mp4, not .2
# What Pillow (and pillow-heif) raise for a broken or truncated image.
_UNREADABLE = (OSError, ValueError, SyntaxError, EOFError, struct.error)


def prepare(name: str, data: bytes, *, max_bytes: int, keep_original: bool = False) -> Prepared:
    """Check an upload and make it safe to keep; `Refused` says why it cannot be added.

    `max_bytes` limits the upload; a re-encoded photo may come out larger (a HEIC as JPEG). The
    upload as it was is returned as `original` only for photos and only when `keep_original`:
    it still holds the metadata, so the caller decides who may ever see it."""
    shown = safe_name(name)
    if not data:
        raise Refused(_("%(name)s is empty.", name=shown))
    if len(data) > max_bytes:
        megabytes = format_decimal(max_bytes / 1024 / 1024, format="0.#")
        raise Refused(_("%(name)s is larger than %(mb)s MB.", name=shown, mb=megabytes))
    kind = _kind_of(data, shown)
    is_photo = kind in _STORED_AS
    stored_as = _STORED_AS[kind] if is_photo else kind
    stored = _reencoded(kind, data, shown) if is_photo else data
    return Prepared(
        kind=kind,
        content_type=_CONTENT_TYPES[stored_as],
        data=stored,
        filename=_with_extension(shown, _EXTENSIONS[stored_as]),
        sha256=hashlib.sha256(stored).hexdigest(),
        size=len(stored),
        original=data if keep_original and is_photo else None,
    )


def safe_name(name: str) -> str:
    """A name fit to show and to offer for download: the last part of a path, without
    control characters or characters that file systems refuse, at most 120 characters."""
    last = re.split(r"[/\\]", name)[-1]
    spaced = "".join(" " if c.isspace() else c for c in unicodedata.normalize("NFC", last))
    kept = "".join(
        c
        for c in spaced
        if not unicodedata.category(c).startswith("C") and c not in _FORBIDDEN_IN_NAMES
    )
    cleaned = " ".join(kept.split()).strip(". ")
    if not cleaned:
        return _("file")
    extension = _EXTENSION.search(cleaned)
    if extension is None or len(cleaned) <= NAME_LENGTH:
        return cleaned[:NAME_LENGTH].rstrip(". ")
    return _cut(cleaned[: extension.start()], extension.group())


def _kind_of(data: bytes, name: str) -> Kind:
    """The kind of a (non-empty) upload, from its content; `Refused` for any other."""
    if data.startswith(b"\xff\xd8\xff"):
        return Kind.JPEG
    if data.startswith(_PNG):
        return Kind.PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Kind.WEBP
    if _is_heif(data):
        return Kind.HEIC
    if data.startswith(b"%PDF-"):
        return Kind.PDF
    if data.startswith(_OLE) and _is_outlook_message(data):
        return Kind.OUTLOOK
    if data.startswith((_OLE, _ZIP)):  # Word, Excel (old and new), and any other archive
        raise Refused(
            _(
                "%(name)s is an Office document or a zip file, which cannot be added. "
                "Save a document as PDF and add that instead.",
                name=name,
            )
        )
    return _text_kind(data, name)


def _not_allowed(name: str) -> Refused:
    return Refused(
        _(
            "%(name)s is not a file type that can be added: "
            "photos (JPEG, PNG, HEIC, WebP), PDF, text or e-mail files.",
            name=name,
        )
    )


def _is_heif(data: bytes) -> bool:
    """An ISO media file (its first box `ftyp`) whose brands say HEIC or HEIF."""
    size = int.from_bytes(data[:4], "big")
    if data[4:8] != b"ftyp" or not 16 <= size <= len(data):
        return False
    major = data[8:12]
    compatible = {data[at : at + 4] for at in range(16, size - 3, 4)}
    if major in _AVIF_BRANDS:
        return False
    return major in _HEIF_BRANDS or bool(compatible & _HEIF_BRANDS)


def _is_outlook_message(data: bytes) -> bool:
    """An OLE compound file laid out as an Outlook message: a property stream and the
    `__substg1.0_` streams of its fields at the top. Word and Excel files are OLE too."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            top = {entry[0] for entry in ole.listdir(streams=True, storages=True)}
    except Exception:  # olefile raises many kinds for a damaged file: then it is no message
        return False
    return "__properties_version1.0" in top and any(n.startswith("__substg1.0_") for n in top)


def _text_kind(data: bytes, name: str) -> Kind:
    """Plain text or an e-mail; programs (executables, scripts) and markup are refused.

    Executables (MZ, ELF) and other binary files fail the text check: they hold NUL bytes
    and control characters. HTML and SVG are text, but a browser opening one runs its
    scripts, so a file that starts as markup is refused whatever follows."""
    opening = data.removeprefix(_BOM).lstrip(b" \t\r\n\f")
    if opening.startswith(b"<"):
        raise Refused(
            _(
                "%(name)s looks like a web page or a drawing (HTML, SVG or XML). "
                "These cannot be added, because they can run a script when opened.",
                name=name,
            )
        )
    if opening.startswith(b"#!") or b"\x00" in data:
        raise _not_allowed(name)
    if _is_email(data):
        return Kind.EMAIL
    if _as_text(data) is None:
        raise _not_allowed(name)
    return Kind.TEXT


def _as_text(data: bytes) -> str | None:
    """The text, when `data` is UTF-8 without control characters (tabs and line ends aside)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def _is_email(data: bytes) -> bool:
    """A saved e-mail: header lines from the first line on, a blank line, then the body.

    Two of the usual fields are asked for, not one: a note that begins with "To: HR" is a
    text, not an e-mail. The body may be in any character set (older mail often is), so
    only the header lines must be text."""
    blank = _BLANK_LINE.search(data)
    if blank is None or _as_text(data[: blank.start()]) is None:
        return False
    message = BytesHeaderParser(policy=compat32).parsebytes(data[: blank.end()])
    fields = {key.lower() for key in message}
    return not message.defects and len(fields & _EMAIL_FIELDS) >= 2


def _reencoded(kind: Kind, data: bytes, name: str) -> bytes:
    """The photo's first frame turned upright as it was taken, then written again without
    any metadata; `Refused` for a broken image and for one with too many pixels."""
    if kind is Kind.HEIC:
        _register_heif()
    # Pillow warns of a likely bomb from 89 million pixels (an error from twice that). The
    # warning becomes an error here, so it never reaches the log or a test. The filters are
    # the process's, not the thread's: should another thread reset them meanwhile, the
    # size check below still refuses the image before it is decoded.
    with warnings.catch_warnings(), _whole_images_only():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[_OPENS_AS[kind]]) as image:
                if image.width * image.height > MAX_PIXELS:  # only the header is read yet
                    raise _too_many_pixels(name)
                image.load()
                ImageOps.exif_transpose(image, in_place=True)
                return _without_metadata(image, _STORED_AS[kind])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(name) from error
        except _UNREADABLE as error:
            raise Refused(_("%(name)s could not be read as an image.", name=name)) from error


_DECODING = threading.Lock()


@contextmanager
def _whole_images_only() -> Iterator[None]:
    """Decode with Pillow's refusal of truncated images on: WeasyPrint (the PDFs) switches it
    off for the whole process when it is imported, and a photo cut short must be refused, not
    padded with grey. One decode at a time, as the setting is the process's."""
    with _DECODING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def _too_many_pixels(name: str) -> Refused:
    return Refused(
        _(
            "%(name)s has too many pixels: at most %(megapixels)s million can be added.",
            name=name,
            megapixels=MAX_PIXELS // 1_000_000,
        )
    )


def _without_metadata(image: Image.Image, stored_as: Kind) -> bytes:
    """The pixels alone, written as `stored_as`: `info` would carry EXIF, XMP, ICC and
    comments, which some of Pillow's writers copy into the file unasked."""
    alpha = stored_as is not Kind.JPEG and image.has_transparency_data
    clean = _eight_bit(image).convert("RGBA" if alpha else "RGB")
    clean.info = {}
    writer, options = _SAVE[stored_as]
    buffer = io.BytesIO()
    clean.save(buffer, format=writer, **options)
    return buffer.getvalue()


@functools.cache
def _register_heif() -> None:
    """Let Pillow open HEIC photos (from iPhones), once, when the first one arrives."""
    import pillow_heif  # some 10 MB: only once an iPhone photo arrives

    pillow_heif.register_heif_opener()


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale brought to 8 bits; Pillow's own conversion would clip it to white."""
    if not image.mode.startswith("I"):
        return image
    return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")


def _with_extension(name: str, extension: str) -> str:
    """The name with the extension of what is stored, in place of the one it came with."""
    found = _EXTENSION.search(name)
    stem = name[: found.start()] if found else name
    return _cut(stem or _("file"), extension)


def _cut(stem: str, extension: str) -> str:
    return stem[: NAME_LENGTH - len(extension)].rstrip(". ") + extension
