"""Logging set-up, with a filter that scrubs every configured secret from every record."""

from __future__ import annotations

import logging
import sys


class ScrubSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        # Longest first, so a URL goes as a whole before its token is replaced inside it.
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        text = record.exc_text or ""
        message, text = self.scrub(message), self.scrub(text)
        record.msg, record.args = message, None
        if record.exc_text:
            record.exc_text = text
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


class QuietAbortedJobs(logging.Filter):
    """procrastinate logs a job cancelled by a stopping worker with the cancellation's traceback.
    Stopping is how such a job ends (its row is handed back, or taken over), not a failure: the
    line stays, the traceback goes."""

    ABORTED = frozenset({"job_aborted", "job_aborted_retry"})

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "action", None) in self.ABORTED:
            record.exc_info, record.exc_text = None, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = logging.getLogger("procrastinate.worker")
    if not any(isinstance(f, QuietAbortedJobs) for f in quiet.filters):
        quiet.addFilter(QuietAbortedJobs())
