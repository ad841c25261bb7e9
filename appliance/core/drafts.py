"""The clerk's draft notes per call, kept across page reloads: bounded, this counter's only."""

from __future__ import annotations

from collections.abc import Iterable

MAX_DRAFTS = 100


class DraftRefused(Exception):
    """A draft that is not kept; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Drafts:
    """Notes per appointment, for appointments of this counter's day and its calls only."""

    def __init__(self) -> None:
        self._notes: dict[str, str] = {}

    def get(self, appointment: str) -> str:
        """The draft of one call ("" when none)."""
        return self._notes.get(appointment, "")

    def kept(self) -> dict[str, str]:
        """Every draft kept now, by appointment."""
        return dict(self._notes)

    def keep(self, appointment: str, notes: str, ours: Iterable[str]) -> None:
        """Keep a draft; drafts of appointments no longer `ours` are dropped."""
        known = set(ours)
        if appointment not in known:
            raise DraftRefused("unknown_appointment", "not an appointment of this counter")
        for gone in set(self._notes) - known:
            del self._notes[gone]
        if appointment not in self._notes and len(self._notes) >= MAX_DRAFTS:
            raise DraftRefused("too_many_drafts", f"at most {MAX_DRAFTS} drafts")
        self._notes[appointment] = notes

    def forget(self, appointment: str | None = None) -> None:
        """Drop one draft (its outcome was recorded), or all (the clerk signed out)."""
        if appointment is None:
            self._notes.clear()
        else:
            self._notes.pop(appointment, None)
