"""QR codes for the location posters and two-factor set-up, by segno. Pure: no Flask, no database.

On the poster the code is an inline SVG that the template draws from a `Drawing` (so nothing
is marked safe, and it has presentation attributes only: no style attribute, no script, as our
Content-Security-Policy wants); the download is segno's own SVG file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

# Posters hang on walls and get scratched: quartile error correction (25% may be lost).
ERROR_CORRECTION = "q"
# The quiet zone around the code that scanners need, in modules (the standard's minimum).
BORDER = 4


def make(text: str, error: str = ERROR_CORRECTION) -> segno.QRCode:
    """The QR code of `text`, at the smallest size that holds it."""
    return segno.make(text, error=error, micro=False)


@dataclass(frozen=True)
class Drawing:
    """A QR code to draw in a template (which escapes it like any value): `size` modules
    square, the quiet zone included, and `path`, the dark modules as runs along the rows
    (`M x y.5h n`: n modules from column x on row y), to stroke 1 module wide."""

    size: int
    path: str


def drawing(text: str) -> Drawing:
    """The QR code of `text` as a `Drawing`, for an inline SVG drawn by a template."""
    rows = [list(row) for row in make(text).matrix_iter(border=BORDER)]
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}.5h{x - start}")
    return Drawing(size=len(rows), path="".join(runs))


def svg_file(
    text: str, *, title: str, error: str = ERROR_CORRECTION, scale: int = 10, xmldecl: bool = True
) -> str:
    """`text` as an SVG file of its own, black on white (so it scans on any page), `scale` px
    per module: for a print shop or a sign maker, or an authenticator app's set-up."""
    buffer = io.BytesIO()
    make(text, error).save(
        buffer,
        kind="svg",
        scale=scale,
        border=BORDER,
        dark="#000",
        light="#fff",
        xmldecl=xmldecl,
        svgclass=None,
        lineclass=None,
        title=title,
    )
    return buffer.getvalue().decode("utf-8")
