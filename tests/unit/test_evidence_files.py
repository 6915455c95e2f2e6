"""Pure tests of checking evidence files (incidents/evidence/files.py): no app, no database.

Every file is made here, with Pillow, pillow-heif or by hand. The messages need no app:
outside a request Flask-Babel gives the English text, which is what is asserted.

There is no Outlook message from Outlook itself: none is installed with the project, and
olefile only reads. So the .msg case is an OLE compound file written by `compound_file`
below, laid out as Outlook lays out a message (a property stream and `__substg1.0_` streams),
and a Word-like one (a `WordDocument` stream) shows that other OLE files are refused.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import warnings
import zipfile
import zlib
from typing import Any

import olefile
import pillow_heif
import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from incidents.evidence.files import MAX_PIXELS, Kind, Prepared, Refused, prepare, safe_name

LIMIT = 5 * 1024 * 1024
RED, BLUE = (255, 0, 0), (0, 0, 255)


def accepted(name: str, data: bytes, **kwargs) -> Prepared:
    return prepare(name, data, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)


def refusal(name: str, data: bytes, max_bytes: int = LIMIT) -> str:
    with pytest.raises(Refused) as raised:
        prepare(name, data, max_bytes=max_bytes)
    assert str(raised.value) == raised.value.message
    return raised.value.message


# --- making files ----------------------------------------------------------------------------


def sideways(size: tuple[int, int] = (20, 10)) -> Image.Image:
    """Left half red, right half blue: turned 90 degrees clockwise, red is on top."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def camera_exif(orientation: int = 6) -> Image.Exif:
    """What a phone writes: the make, the orientation, and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 5.0, 19.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 10.0)
    return exif


CAMERA = camera_exif()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>secret place</rdf:RDF></x:xmpmeta>'
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def metadata(writer: str) -> dict[str, Any]:
    """Besides EXIF, what each writer can add: XMP, a colour profile, comments."""
    if writer == "PNG":
        chunks = PngImagePlugin.PngInfo()
        chunks.add_itxt("XML:com.adobe.xmp", XMP.decode())
        chunks.add_text("Comment", "taken at home")
        return {"pnginfo": chunks, "icc_profile": ICC}
    if writer == "JPEG":
        return {"xmp": XMP, "icc_profile": ICC, "comment": b"taken at home"}
    return {"xmp": XMP, "icc_profile": ICC}


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def photo(
    writer: str, image: Image.Image | None = None, exif: Image.Exif | None = CAMERA, **options
) -> bytes:
    """`image` (by default `sideways()`) written by Pillow as `writer`, with `exif`."""
    if writer == "HEIF":
        pillow_heif.register_heif_opener()
    if exif is not None:
        options["exif"] = exif
    buffer = io.BytesIO()
    (image or sideways()).save(buffer, format=writer, **options)
    return buffer.getvalue()


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (version 3, 512-byte sectors) with `streams` at its top.

    Each stream is padded to 4096 bytes, the size from which a stream is kept in ordinary
    sectors, so the file needs no mini stream: one FAT sector, one directory sector."""
    sector, free, end, fat_sector, none = 512, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    assert len(streams) <= 3, "the root and three streams fill the one directory sector"
    bodies = [data.ljust(4096, b"\0") for data in streams.values()]
    fat, starts = [fat_sector, end], []
    for body in bodies:
        starts.append(len(fat))
        fat += [*range(len(fat) + 1, len(fat) + len(body) // sector), end]
    fat += [free] * (sector // 4 - len(fat))

    def entry(
        name: str = "", kind: int = 0, child: int = none, right: int = none, start=end, size=0
    ):
        """A directory entry (kind 5 the root, 2 a stream), its siblings as a chain."""
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack(
            "<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, none, right, child, b"", 0, 0,
            0, start, size,
        )  # fmt: skip

    names = list(streams)
    directory = entry("Root Entry", 5, child=1 if names else none)
    for number, (name, start, body) in enumerate(zip(names, starts, bodies, strict=True), 1):
        following = number + 1 if number < len(names) else none
        directory += entry(name, 2, right=following, start=start, size=len(body))
    directory += entry() * (3 - len(names))
    # Signature, class id, version 3.62, little-endian, sectors of 2**9 and mini sectors of
    # 2**6 bytes; 0 directory sectors (as version 3 says), 1 FAT sector, the directory in
    # sector 1, the 4096-byte cutoff, no mini FAT, no DIFAT sectors; the FAT is sector 0.
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"", 0x3E, 3, 0xFFFE,
        9, 6, b"", 0, 1, 1, 0, 4096, end, 0, end, 0,
    ) + struct.pack("<109I", 0, *[free] * 108)  # fmt: skip
    return header + struct.pack(f"<{sector // 4}I", *fat) + directory + b"".join(bodies)


OUTLOOK_MESSAGE = compound_file(
    {
        "__properties_version1.0": b"\0" * 32,
        "__substg1.0_0037001F": "Threat at the counter".encode("utf-16-le"),
        "__substg1.0_1000001F": "He said he would wait for me outside.".encode("utf-16-le"),
    }
)
WORD_DOCUMENT = compound_file({"WordDocument": b"\xec\xa5" + b"\0" * 30, "1Table": b"\0"})


def test_the_hand_made_message_is_a_compound_file_olefile_reads_without_complaint() -> None:
    with olefile.OleFileIO(io.BytesIO(OUTLOOK_MESSAGE)) as ole:
        assert ole.parsing_issues == []
        assert (
            ole.openstream("__substg1.0_0037001F").read().startswith("Threat".encode("utf-16-le"))
        )


def with_size(png: bytes, width: int, height: int) -> bytes:
    """A real PNG whose header claims another size (its checksum made right again)."""
    header = struct.pack(">II", width, height) + png[24:29]
    return png[:16] + header + struct.pack(">I", zlib.crc32(b"IHDR" + header)) + png[33:]


SMALL_PNG = photo("PNG", Image.new("RGB", (4, 4)), exif=None)
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n%%EOF\n"
)
EMAIL = (
    b"Received: from mail.example.test by mx.example.test; Tue, 3 Mar 2026 09:12:00 +0100\r\n"
    b"From: Visitor <visitor@example.test>\r\n"
    b"To: counter@example.test\r\n"
    b"Subject: =?utf-8?q?Ik_kom_terug?=\r\n"
    b"Date: Tue, 3 Mar 2026 09:11:58 +0100\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"I know where you live.\r\n"
)


def assert_no_metadata(image: Image.Image) -> None:
    exif = image.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"):
        assert key not in image.info, key


# --- photos ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "kind", "content_type", "extension"),
    [
        ("JPEG", Kind.JPEG, "image/jpeg", ".jpg"),
        ("PNG", Kind.PNG, "image/png", ".png"),
        ("WEBP", Kind.WEBP, "image/webp", ".webp"),
        ("HEIF", Kind.HEIC, "image/jpeg", ".jpg"),
    ],
)
def test_a_photo_is_turned_upright_and_stored_without_its_metadata(
    writer: str, kind: Kind, content_type: str, extension: str
) -> None:
    upload = photo(writer, **metadata(writer))
    assert b"PhoneMaker" in upload  # the upload did carry metadata
    assert writer == "WEBP" or b"secret place" in upload  # (WebP may compress it)

    prepared = accepted("IMG_0001.HEIC" if kind is Kind.HEIC else "photo.bin", upload)

    assert prepared.kind is kind
    assert prepared.content_type == content_type
    assert prepared.filename == ("IMG_0001" if kind is Kind.HEIC else "photo") + extension
    assert prepared.original is None
    assert prepared.size == len(prepared.data)
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    assert b"PhoneMaker" not in prepared.data
    assert b"secret place" not in prepared.data
    assert b"taken at home" not in prepared.data
    assert ICC[36:40] == b"acsp" and ICC[:128] not in prepared.data
    stored = Image.open(io.BytesIO(prepared.data))
    assert stored.format == ("JPEG" if kind is Kind.HEIC else writer)
    assert_no_metadata(stored)
    if kind is not Kind.HEIC:  # libheif itself turns a HEIC upright, by its own box, not EXIF
        assert stored.size == (10, 20)
        top, bottom = pixel(stored.convert("RGB"), (5, 2)), pixel(stored.convert("RGB"), (5, 17))
        assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]


def test_a_heic_photo_becomes_a_jpeg_of_the_same_picture() -> None:
    upload = photo("HEIF", sideways((64, 32)), exif=camera_exif(orientation=1))
    assert upload[4:12] == b"ftypheic"

    prepared = accepted("IMG_0002.heic", upload)

    assert (prepared.kind, prepared.content_type) == (Kind.HEIC, "image/jpeg")
    assert prepared.filename == "IMG_0002.jpg"
    stored = Image.open(io.BytesIO(prepared.data))
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (64, 32))
    assert_no_metadata(stored)
    left, right = pixel(stored, (8, 16)), pixel(stored, (56, 16))
    assert left[0] > 200 > left[2] and right[2] > 200 > right[0]


def test_a_photo_without_an_orientation_keeps_its_shape() -> None:
    prepared = accepted("photo.jpg", photo("JPEG", exif=camera_exif(orientation=1)))
    assert Image.open(io.BytesIO(prepared.data)).size == (20, 10)


@pytest.mark.parametrize("writer", ["PNG", "WEBP"])
def test_transparency_is_kept_in_png_and_webp(writer: str) -> None:
    image = Image.new("RGBA", (8, 8), (0, 128, 0, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))

    stored = Image.open(io.BytesIO(accepted("logo", photo(writer, image, exif=None)).data))

    assert stored.mode == "RGBA"
    assert pixel(stored, (0, 0))[3] == 0
    red, green, blue, alpha = pixel(stored, (4, 4))
    assert alpha == 255 and green > 100 > max(red, blue)  # WebP is stored lossy: near enough


def test_a_palette_png_with_a_transparent_colour_keeps_it() -> None:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 255, 255, 0])
    image.info["transparency"] = 0
    image.putpixel((0, 0), 0)

    stored = Image.open(io.BytesIO(accepted("p.png", photo("PNG", image, exif=None)).data))

    assert stored.mode == "RGBA"
    assert pixel(stored, (0, 0))[3] == 0
    assert pixel(stored, (1, 1)) == (255, 255, 0, 255)


def test_a_sixteen_bit_grey_png_keeps_its_shades() -> None:
    image = Image.new("I;16", (4, 1))
    for x, value in enumerate((0, 16384, 32768, 65535)):
        image.putpixel((x, 0), value)

    stored = Image.open(io.BytesIO(accepted("scan.png", photo("PNG", image, exif=None)).data))

    shades = [pixel(stored, (x, 0))[0] for x in range(4)]
    assert shades == [0, 64, 128, 255]


def test_a_jpeg_in_cmyk_or_grey_is_stored_as_rgb() -> None:
    for mode in ("CMYK", "L"):
        upload = photo("JPEG", Image.new(mode, (8, 8)), exif=None)
        assert Image.open(io.BytesIO(accepted("x.jpg", upload).data)).mode == "RGB"


@pytest.mark.parametrize("writer", ["PNG", "WEBP"])
def test_of_an_animation_only_the_first_frame_is_kept(writer: str) -> None:
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    upload = photo(writer, frames[0], save_all=True, append_images=frames[1:], exif=None)
    assert getattr(Image.open(io.BytesIO(upload)), "n_frames", 1) == 2

    stored = Image.open(io.BytesIO(accepted("moving", upload).data))

    assert getattr(stored, "n_frames", 1) == 1
    red = pixel(stored.convert("RGB"), (4, 4))
    assert red[0] > 200 > red[2]


def test_the_original_is_returned_only_for_photos_and_only_when_asked() -> None:
    upload = photo("JPEG")
    assert accepted("a.jpg", upload).original is None
    assert accepted("a.jpg", upload, keep_original=True).original == upload
    assert accepted("a.pdf", MINIMAL_PDF, keep_original=True).original is None


def test_a_photo_of_many_megapixels_is_fine() -> None:
    upload = photo("PNG", Image.new("1", (6000, 4000)), exif=None)  # 24 megapixels, small file
    stored = Image.open(io.BytesIO(accepted("big.png", upload, max_bytes=LIMIT * 10).data))
    assert stored.size == (6000, 4000)


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (8001, 5000),  # just over MAX_PIXELS: the size check
        (10_000, 9_000),  # over Pillow's warning level (89 million pixels)
        (50_000, 50_000),  # over Pillow's error level
    ],
)
def test_a_decompression_bomb_is_refused_before_it_is_decoded(width: int, height: int) -> None:
    assert width * height > MAX_PIXELS
    bomb = with_size(SMALL_PNG, width, height)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a warning that escaped would be recorded here
        message = refusal("bomb.png", bomb)
    assert message == "bomb.png has too many pixels: at most 40 million can be added."
    assert caught == []


@pytest.mark.parametrize("writer", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_a_truncated_photo_is_refused(writer: str) -> None:
    noise = Image.frombytes("RGB", (64, 64), random.Random(7).randbytes(64 * 64 * 3))
    upload = photo(writer, noise, exif=None)
    message = refusal("cut.jpg", upload[: len(upload) * 2 // 3])
    assert message == "cut.jpg could not be read as an image."


def test_a_file_that_only_begins_like_a_photo_is_refused() -> None:
    for start in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"RIFF\0\0\0\0WEBPVP8 "):
        assert "could not be read" in refusal("photo.jpg", start + b"\0" * 100)


# --- documents -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "kind", "content_type", "filename"),
    [
        ("report.pdf", MINIMAL_PDF, Kind.PDF, "application/pdf", "report.pdf"),
        ("scan", MINIMAL_PDF, Kind.PDF, "application/pdf", "scan.pdf"),
        (
            "notes.md",
            "Café, 14:05 ☕\r\n\tHe shouted.\fPage 2\n".encode(),
            Kind.TEXT,
            "text/plain; charset=utf-8",
            "notes.txt",
        ),
        (
            "bom.txt",
            b"\xef\xbb\xbfwith a byte order mark",
            Kind.TEXT,
            "text/plain; charset=utf-8",
            "bom.txt",
        ),
        ("mail.eml", EMAIL, Kind.EMAIL, "message/rfc822", "mail.eml"),
        ("mail.txt", EMAIL.replace(b"\r\n", b"\n"), Kind.EMAIL, "message/rfc822", "mail.eml"),
        (
            "mail.msg",
            OUTLOOK_MESSAGE,
            Kind.OUTLOOK,
            "application/vnd.ms-outlook",
            "mail.msg",
        ),
    ],
)
def test_documents_are_stored_as_they_came(
    name: str, data: bytes, kind: Kind, content_type: str, filename: str
) -> None:
    prepared = accepted(name, data, keep_original=True)
    assert prepared == Prepared(
        kind=kind,
        content_type=content_type,
        data=data,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        original=None,
    )


def test_an_email_may_have_a_body_in_another_character_set() -> None:
    latin = EMAIL.replace(b"utf-8", b"iso-8859-1") + b"Caf\xe9\r\n"
    assert accepted("mail.eml", latin).kind is Kind.EMAIL


def test_a_note_that_starts_like_a_header_is_text_not_an_email() -> None:
    assert accepted("note.txt", b"To: HR\n\nHe came back today.\n").kind is Kind.TEXT
    assert accepted("note.txt", b"Subject: x\nno header here\n\n").kind is Kind.TEXT
    assert accepted("note.txt", b"Hello\nFrom: a\nTo: b\n\n").kind is Kind.TEXT


# --- refused ---------------------------------------------------------------------------------

NOT_ALLOWED = (
    "{} is not a file type that can be added: photos (JPEG, PNG, HEIC, WebP), PDF, text "
    "or e-mail files."
)
MARKUP = (
    "{} looks like a web page or a drawing (HTML, SVG or XML). These cannot be added, "
    "because they can run a script when opened."
)
OFFICE = (
    "{} is an Office document or a zip file, which cannot be added. Save a document as PDF "
    "and add that instead."
)


def zipped(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "<w:document/>")
    return buffer.getvalue()


def heif_box(major: bytes, *compatible: bytes) -> bytes:
    brands = major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands + b"\0" * 64


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "photo.jpg",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\0" * 64,
            NOT_ALLOWED,
        ),
        ("photo.jpg", b"\x7fELF\x02\x01\x01" + b"\0" * 64, NOT_ALLOWED),
        ("run.txt", b"#!/bin/sh\nrm -rf ~\n", NOT_ALLOWED),
        ("run.txt", b"\n  #!/usr/bin/env python\n", NOT_ALLOWED),
        ("noise.pdf", random.Random(1).randbytes(4096), NOT_ALLOWED),
        ("old.txt", b"Caf\xe9 in Windows-1252", NOT_ALLOWED),
        ("colour.txt", b"red \x1b[31mtext\x1b[0m", NOT_ALLOWED),
        ("nul.txt", b"text\x00with a NUL", NOT_ALLOWED),
        ("utf16.txt", "text".encode("utf-16"), NOT_ALLOWED),
        ("photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", NOT_ALLOWED),
        ("photo.avif", heif_box(b"avif", b"mif1", b"miaf"), NOT_ALLOWED),
        ("page.txt", b"<!DOCTYPE html><script>alert(1)</script>", MARKUP),
        ("page.pdf", b"\xef\xbb\xbf \r\n\t<html><body onload=alert(1)>", MARKUP),
        (
            "drawing.png",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
            b"<script>alert(1)</script></svg>",
            MARKUP,
        ),
        ("bare.svg", b"<svg onload=alert(1)/>", MARKUP),
        ("archive.zip", zipped("x.txt"), OFFICE),
        ("letter.docx", zipped("word/document.xml"), OFFICE),
        ("letter.doc", WORD_DOCUMENT, OFFICE),
        ("broken.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000, OFFICE),
    ],
)
def test_other_kinds_of_file_are_refused(name: str, data: bytes, message: str) -> None:
    assert refusal(name, data) == message.format(name)


def test_a_heif_box_is_recognised_by_any_of_its_brands() -> None:
    for box in (heif_box(b"heic"), heif_box(b"mif1", b"heic"), heif_box(b"msf1", b"hevc")):
        assert "could not be read as an image" in refusal("x.heic", box)  # a HEIC, but empty


def test_an_empty_file_is_refused() -> None:
    assert refusal("../empty.jpg", b"") == "empty.jpg is empty."


def test_a_file_over_the_limit_is_refused_and_one_at_it_is_not() -> None:
    at_limit = b"x" * (1024 * 1024)
    assert accepted("a.txt", at_limit, max_bytes=1024 * 1024).size == 1024 * 1024
    assert refusal("a.txt", at_limit + b"x", max_bytes=1024 * 1024) == (
        "a.txt is larger than 1 MB."
    )
    assert refusal("a.txt", at_limit, max_bytes=1024 * 1024 * 3 // 4) == (
        "a.txt is larger than 0.8 MB."
    )


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../x.pdf", "x.pdf"),
        ("C:\\Users\\jan\\Desktop\\y.jpg", "y.jpg"),
        ("/etc/passwd", "passwd"),
        ("dir/", "file"),
        ("a\x00b\x1b\u202etxt.exe", "abtxt.exe"),  # NUL, escape, right-to-left override
        ('a<b>:"c|?*.txt', "abc.txt"),
        ("  many   spaces\tand\na line break.txt ", "many spaces and a line break.txt"),
        ("...", "file"),
        (". .", "file"),
        ("", "file"),
        ("..hidden", "hidden"),
        ("ends with dots...", "ends with dots"),
        ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),  # one form of é, whatever the system sent
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("y" * 300, "y" * 120),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe


@pytest.mark.parametrize(
    ("name", "data", "filename"),
    [
        ("photo.heic", photo("HEIF"), "photo.jpg"),
        ("photo.jpeg", photo("JPEG"), "photo.jpg"),
        ("photo.png", photo("JPEG"), "photo.jpg"),  # what it is, not what it was called
        ("Report v1.2", MINIMAL_PDF, "Report v1.2.pdf"),
        ("...", MINIMAL_PDF, "file.pdf"),
        (".pdf", MINIMAL_PDF, "pdf.pdf"),
        ("x" * 200 + ".heic", photo("HEIF"), "x" * 115 + ".jpg"),
        ("mail", OUTLOOK_MESSAGE, "mail.msg"),
    ],
)
def test_the_stored_name_has_the_extension_of_what_is_stored(
    name: str, data: bytes, filename: str
) -> None:
    assert accepted(name, data).filename == filename


def test_a_refusal_names_the_file_by_its_safe_name() -> None:
    assert refusal("C:\\temp\\<bad>\x07|name.exe", b"MZ\0\0") == NOT_ALLOWED.format("badname.exe")


def test_a_truncated_photo_is_refused_after_weasyprint_was_imported(monkeypatch):
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process when imported."""
    import weasyprint  # noqa: F401 - imported for what it does to Pillow
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    whole = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(whole, format="JPEG")
    refusal("cut.jpg", whole.getvalue()[:300])
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was found
