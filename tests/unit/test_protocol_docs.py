"""docs/protocol.md says what protocol/ says: its event tables are generated, and the
hand-written table of kiosk commands names exactly the commands the kiosk's models accept."""

from __future__ import annotations

import re
from typing import get_args

from protocol import kiosk
from protocol.docs import DOC, render


def test_the_event_tables_are_what_the_generator_writes():
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, (
        "docs/protocol.md differs from protocol/ (protocol.events and the models): "
        "run `python -m protocol.docs` and commit the result"
    )


def test_every_kiosk_command_has_its_row_and_no_other():
    text = DOC.read_text(encoding="utf-8")
    table = text.split("| cmd | arguments | effect |", 1)[1].split("\n\n", 1)[0]
    documented = {
        name for row in table.splitlines()[2:] for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    union = get_args(get_args(kiosk.AnyCommand)[0])
    accepted = {cmd for model in union for cmd in get_args(model.model_fields["cmd"].annotation)}
    assert documented == accepted
