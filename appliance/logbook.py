"""The daemon's last log lines, kept in memory for IT's `logs` action (`buergeramt devices logs`):
what this run logged, without a shell on the counter. Earlier runs are in the journal
(`journalctl -u buergeramt-appliance`)."""

from __future__ import annotations

import logging
from collections import deque

from protocol.appliance import LOG_LINE_CHARS, MAX_LOG_LINES

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class LogBook(logging.Handler):
    """The last MAX_LOG_LINES lines (first lines of each record; a traceback's last line too)."""

    def __init__(self, size: int = MAX_LOG_LINES) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record).splitlines()
        except Exception:  # a log call with bad arguments must not take the daemon down
            self.handleError(record)
            return
        if not text:
            return
        self.lines.append(text[0][:LOG_LINE_CHARS])
        if len(text) > 1:  # a traceback: what was raised is its last line
            self.lines.append(("  " + text[-1])[:LOG_LINE_CHARS])

    def last(self, count: int) -> list[str]:
        """The newest `count` lines, oldest first."""
        return list(self.lines)[-count:] if count > 0 else []


BOOK = LogBook()  # the daemon's, installed on the root logger by appliance.daemon
