"""The one shape of a refused request that services raise and routes answer."""

from __future__ import annotations


class StatusError(Exception):
    """`status` is the HTTP status to answer with, `code` the API error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
