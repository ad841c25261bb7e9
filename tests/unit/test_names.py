"""The name rule (issue 12, point 8): names are what names are, nothing to phish with."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.booking.names import MAX_NAME_LENGTH, InvalidName, normalize_name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Erika Mustermann", "Erika Mustermann"),
        ("  Hans-Jürgen   O’Neill ", "Hans-Jürgen O’Neill"),
        ("Dr. Anna-Lena d'Artagnan", "Dr. Anna-Lena d'Artagnan"),
        ("Zoe\u0308 Ç", "Zoë Ç"),  # NFC: one character for ë
        ("Søren Kierkegaard", "Søren Kierkegaard"),
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("Ελένη Παπαδοπούλου", "Ελένη Παπαδοπούλου"),
        ("Алексей Иванов", "Алексей Иванов"),
        ("J. R. R. Tolkien", "J. R. R. Tolkien"),
        ("Erika\tMuster\u00a0mann", "Erika Muster mann"),
    ],
)
def test_real_names_are_kept_in_one_spelling(raw, clean):
    assert normalize_name(raw) == clean


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("---", "no_letter"),
        ("Erika https://evil.example/login", "characters"),
        ("Bitte zahlen Sie unter www.evil.example", "dot"),
        ("evil.example", "dot"),
        ("Erika\u202eknimmuM", "characters"),  # right-to-left override
        ("Eri\u200bka", "characters"),  # zero-width space
        ("\u200b\u200c\u200d", "characters"),
        ("Erika\u0000", "characters"),
        ("Erika\nMustermann", "characters"),
        ("Erika\u2028Mustermann", "characters"),
        ("Erika 0800 123456", "characters"),  # no digits: no phone numbers, no amounts
        ("Erika <b>", "characters"),
        ("Erika@example.org", "characters"),
        ("E" * (MAX_NAME_LENGTH + 1), "too_long"),
    ],
)
def test_what_is_no_name_is_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidName) as refused:
        normalize_name(raw)
    assert refused.value.reason == reason


FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=150))
def test_no_accepted_name_carries_control_invisible_or_link_characters(raw):
    try:
        name = normalize_name(raw)
    except InvalidName:
        return
    assert name == unicodedata.normalize("NFC", name) == name.strip()
    assert 1 <= len(name) <= MAX_NAME_LENGTH
    assert not {unicodedata.category(c) for c in name} & FORBIDDEN_CATEGORIES
    assert "://" not in name and "www." not in name.lower() and "  " not in name
    assert not any(c.isdigit() for c in name)
    assert any(unicodedata.category(c).startswith("L") for c in name)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.text(st.characters(categories=["L", "M"]), min_size=1, max_size=10),
        min_size=1,
        max_size=4,
    )
)
def test_names_of_letters_and_marks_are_accepted(parts):
    raw = " ".join(parts)
    if not any(unicodedata.category(c).startswith("L") for c in raw):
        return  # marks alone are not a name
    assert normalize_name(raw) == unicodedata.normalize("NFC", raw)
