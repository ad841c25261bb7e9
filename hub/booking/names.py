"""The name a citizen gives: what names are made of, in one spelling.

The name is printed into the city's mails ("Guten Tag <name>,") to any address and onto the
clerk's screen, so it must carry nothing but a name: no links, no digits (phone numbers, sums),
no control, bidirectional or invisible characters.
"""

from __future__ import annotations

import re
import unicodedata

MAX_NAME_LENGTH = 100
# Besides letters and combining marks: space, hyphen, apostrophes (' and ’) and the dot.
PUNCTUATION = frozenset(" -'\u2019.")
_SPACES = re.compile(" +")


class InvalidName(ValueError):
    """Not a name; `reason` says why: empty, too_long, characters, no_letter or dot."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"not a name ({reason})")
        self.reason = reason


def _allowed(char: str) -> bool:
    return char in PUNCTUATION or unicodedata.category(char)[0] in "LM"


def normalize_name(raw: str) -> str:
    """The name in NFC with single spaces between its words, or InvalidName (line breaks,
    controls and invisible characters are refused, not removed: the citizen sees the error).

    A dot must end an abbreviation ("Dr. Erika", "J. R. R."): followed by a space, a hyphen or
    the end, never by a letter, so no domain (`evil.example`, `www.…`) passes.
    """
    # Tabs and every kind of space become one space; line breaks and controls stay, and fail.
    spaced = "".join(
        " " if c == "\t" or unicodedata.category(c) == "Zs" else c
        for c in unicodedata.normalize("NFC", raw)
    )
    name = _SPACES.sub(" ", spaced).strip(" ")
    if not name:
        raise InvalidName("empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName("too_long")
    if not all(_allowed(c) for c in name):
        raise InvalidName("characters")
    if not any(unicodedata.category(c)[0] == "L" for c in name):
        raise InvalidName("no_letter")
    if any(c == "." and name[i + 1 : i + 2] not in ("", " ", "-") for i, c in enumerate(name)):
        raise InvalidName("dot")
    return name
