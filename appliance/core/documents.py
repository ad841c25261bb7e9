"""The counter's documents desk: the files and checklist of each held call, and the pages the
clerk scans until they go to the citizen as one PDF."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from appliance.core.ports import Answer, FileDownload, Files, Inbox, InboxFile, Scanner
from appliance.core.state import ScanPage
from protocol.documents import CallDocuments

log = logging.getLogger("appliance.documents")
MAX_SCAN_PAGES = 30  # one document; more pages are another document
SCANNER_FAILED = "scanner_failed"


class DocumentDesk:
    """Documents of the calls a counter holds, and its scanner's pages."""

    def __init__(
        self,
        files: Files | None,
        scanner: Scanner | None,
        changed: Callable[[], None],
        held: Callable[[str], bool],
        inbox: Inbox | None = None,
    ) -> None:
        self.files = files
        self.scanner = scanner
        self.inbox = inbox
        self._changed = changed
        self._held = held
        self.documents: dict[str, CallDocuments] = {}
        self.scan_pages: list[ScanPage] = []
        self.scanning = False

    @property
    def can_scan(self) -> bool:
        """A scanner, and a hub to send its pages to."""
        return self.scanner is not None and self.files is not None

    def news(self, news: CallDocuments) -> None:
        """The files or the checklist of a held call changed."""
        if self._held(news.appointment):
            self.documents[news.appointment] = news
            self._changed()

    def forget(self, appointment: str) -> None:
        """The call is no longer held."""
        self.documents.pop(appointment, None)

    async def fetch(self, appointment: str) -> None:
        """What the appointment brought before the call (news covers every change after)."""
        if self.files is None:
            return
        listing = await self.files.listing(appointment)
        if listing is not None and self._held(appointment):
            self.documents.setdefault(
                appointment, CallDocuments(appointment=appointment, **listing.model_dump())
            )
            self._changed()

    def _refuse_unless_held(self, appointment: str) -> Answer | None:
        if self.files is None:
            return Answer.refusal("no_documents", "this counter exchanges no documents")
        if not self._held(appointment):
            return Answer.refusal("not_your_call", "documents only of the call under way")
        return None

    async def review(self, appointment: str, document: str, accepted: bool, reason: str) -> Answer:
        """Accept a citizen's file, or ask for it again with a reason."""
        refused = self._refuse_unless_held(appointment)
        if refused is not None or self.files is None:
            return refused or Answer.refusal("no_documents", "")
        return await self.files.review(appointment, document, accepted, reason)

    async def download(self, appointment: str, document: str) -> FileDownload | None:
        """A file of the call under way, for the clerk's screen."""
        if self._refuse_unless_held(appointment) is not None or self.files is None:
            return None
        return await self.files.download(appointment, document)

    async def scan(self, replace: int | None = None) -> Answer:
        """Scan a page (or scan page `replace` again)."""
        if self.scanner is None or self.files is None:
            return Answer.refusal("no_scanner", "this counter has no scanner")
        if self.scanning:
            return Answer.refusal("busy", "a scan is under way")
        if replace is None and len(self.scan_pages) >= MAX_SCAN_PAGES:
            return Answer.refusal("too_many_pages", f"at most {MAX_SCAN_PAGES} pages")
        if replace is not None and not 0 <= replace < len(self.scan_pages):
            return Answer.refusal("unknown_page", "no such page")
        self.scanning = True
        self._changed()
        try:
            page = await self.scanner.capture()
        except Exception as exc:  # a device that fails must never take the counter with it
            log.warning("scan failed: %s", exc)
            return Answer.refusal(SCANNER_FAILED, str(exc))
        finally:
            self.scanning = False
            self._changed()
        if replace is None:
            self.scan_pages.append(ScanPage(page))
        else:
            self.scanner.discard([self.scan_pages[replace].id])
            self.scan_pages[replace] = ScanPage(page)
        return Answer(True)

    def rotate_page(self, index: int) -> Answer:
        """Turn a scanned page a quarter clockwise."""
        if not 0 <= index < len(self.scan_pages):
            return Answer.refusal("unknown_page", "no such page")
        page = self.scan_pages[index]
        self.scan_pages[index] = ScanPage(page.id, (page.rotation + 90) % 360)
        self._changed()
        return Answer(True)

    def remove_page(self, index: int) -> Answer:
        """Drop a scanned page."""
        if not 0 <= index < len(self.scan_pages):
            return Answer.refusal("unknown_page", "no such page")
        page = self.scan_pages.pop(index)
        if self.scanner is not None:
            self.scanner.discard([page.id])
        self._changed()
        return Answer(True)

    def discard_scan(self) -> None:
        """Forget every page not sent."""
        if self.scanner is not None and self.scan_pages:
            self.scanner.discard([page.id for page in self.scan_pages])
        self.scan_pages.clear()

    async def send_scan(self, appointment: str, name: str, item: int | None) -> Answer:
        """The scanned pages as one PDF to the citizen of the call under way."""
        refused = self._refuse_unless_held(appointment)
        if refused is not None or self.files is None or self.scanner is None:
            return refused or Answer.refusal("no_scanner", "this counter has no scanner")
        if not self.scan_pages:
            return Answer.refusal("no_pages", "scan a page first")
        pages = [(page.id, page.rotation) for page in self.scan_pages]
        pdf = await self.scanner.pdf(pages)
        answer = await self.files.upload(appointment, pdf, name, item)
        if answer.ok:
            self.discard_scan()
            self._changed()
        return answer

    def inbox_files(self) -> list[InboxFile]:
        """What the operator's folders hold now (nothing without folders)."""
        return self.inbox.listing() if self.inbox is not None and self.files is not None else []

    async def send_file(self, appointment: str, ident: str) -> Answer:
        """A file from the operator's folders to the citizen of the call under way."""
        refused = self._refuse_unless_held(appointment)
        if refused is not None or self.files is None or self.inbox is None:
            return refused or Answer.refusal("no_inbox", "this counter has no folder to send from")
        found = await asyncio.to_thread(self.inbox.read, ident)
        if found is None:
            return Answer.refusal("unknown_file", "the file is no longer there")
        name, data = found
        return await self.files.upload(appointment, data, name, None)
