"""Every count in a text has plural forms: "1 attempt", "2 attempts"; never "1 pogingen".

The messages are extracted from the code and templates as `make translations-update` does
(babel.cfg, the same keywords), so a new text that puts a count in a sentence without ngettext
fails here before anyone reads "1 bestanden".
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
# The keywords of the Makefile's extraction: ours beside Babel's own.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
SKIPPED_DIRS = {".venv", "__pycache__", "instance", "node_modules", ".git"}

# A placeholder whose name says it is a count ("number" is not: it is an incident's number,
# "2026-0142"; a count named so would still be caught by the counted word after it).
COUNT_NAMES = {"count", "num", "n", "total"}
# A placeholder followed by a word that is counted: "%(x)s attempts", "%(max)s characters".
COUNTED = (
    "attempts|steps|files|incidents|characters|colleagues|lines|hours|days|weeks|months|years|"
    "minutes|seconds|members|teams|values|codes|mails|messages|people|persons|times|rows|"
    "tokens|conversations|reports|employees|managers|users|accounts|items|entries|events|"
    "bytes|pages|photos|measures|witnesses|sessions|records|results|errors|problems|digits"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
COUNTED_WORD = re.compile(
    r"%\(\w+\)[sd](?:\s+(?:more|new|open|failed|rejected|recovery|aftercare|other))?\s+(?:"
    + COUNTED
    + r")\b"
)


def _directory_filter(dirname: str) -> bool:
    # Babel's default filter skips "_*" directories too, and so would miss templates/_macros.
    return not set(Path(dirname).parts) & SKIPPED_DIRS


@functools.cache
def extracted() -> list[tuple[str, int, str | tuple[str, ...]]]:
    """(file, line, message) for every marked text; a plural message is a tuple."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = []
    for filename, line, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=KEYWORDS,
        directory_filter=_directory_filter,
    ):
        found.append((filename, line, message))
    return found


def counts_without_plural(message: str) -> bool:
    """True when a single-form text holds a count: a placeholder named as one, or one
    followed by a counted word."""
    named = {name.lower() for name in PLACEHOLDER.findall(message)}
    return bool(named & COUNT_NAMES) or bool(COUNTED_WORD.search(message))


def test_the_extraction_sees_code_templates_and_macros() -> None:
    files = {filename for filename, _, _ in extracted()}
    assert any(f.startswith("incidents/") and f.endswith(".py") for f in files)
    assert any(f.startswith("templates/aftercare/") for f in files)
    assert any(f.startswith("templates/_macros/") for f in files)


def test_every_count_in_a_text_has_plural_forms() -> None:
    offenders = [
        f"{filename}:{line}: {message!r}"
        for filename, line, message in extracted()
        if isinstance(message, str) and counts_without_plural(message)
    ]
    assert not offenders, "use ngettext for these counts:\n" + "\n".join(offenders)


def test_a_plural_text_has_the_same_placeholders_in_both_forms() -> None:
    for filename, line, message in extracted():
        if isinstance(message, tuple) and len(message) >= 2 and message[1]:
            singular, plural = message[0], message[1]
            assert set(PLACEHOLDER.findall(singular)) == set(PLACEHOLDER.findall(plural)), (
                f"{filename}:{line}: {message!r}"
            )


def test_the_check_catches_what_it_is_for() -> None:
    """The rule itself, on texts like the ones issue 19 found."""
    assert counts_without_plural("Not reached yet (%(count)s attempts)")
    assert counts_without_plural("%(count)s open")
    assert counts_without_plural("Next %(size)s steps")
    assert counts_without_plural("Keep it under %(max)s characters.")
    assert counts_without_plural("at most %(seconds)s seconds off")
    assert counts_without_plural("Only the first %(shown)s rejected lines are shown.")
    assert not counts_without_plural("level %(level)s")  # a level is not a count
    assert not counts_without_plural("Incident of %(date)s")
    assert not counts_without_plural("%(name)s is larger than %(mb)s MB.")
