"""A small Server-Sent Events reader for tests: a real HTTP connection, frames parsed in a thread."""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse


@dataclass
class Frame:
    type: str
    data: Any
    id: str | None
    raw: str


class SSE:
    def __init__(self, base: str, path: str, headers: dict[str, str] | None = None) -> None:
        url = urlparse(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.frames: queue.Queue[Frame | None] = queue.Queue()
        self.raw: list[str] = []
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.resp.read()

    def _read(self) -> None:
        fields: dict[str, str] = {}
        lines: list[str] = []
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                text = line.decode("utf-8").rstrip("\n")
                if text == "":
                    if "data" in fields:
                        raw = "\n".join(lines)
                        self.raw.append(raw)
                        self.frames.put(
                            Frame(
                                fields.get("event", "message"),
                                json.loads(fields["data"]),
                                fields.get("id"),
                                raw,
                            )
                        )
                    fields, lines = {}, []
                    continue
                lines.append(text)
                if text.startswith(":"):
                    continue
                name, _, value = text.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
        except (OSError, ValueError, http.client.HTTPException):
            pass
        self.frames.put(None)

    def next(self, *types: str, timeout: float = 10.0) -> Frame:
        """The next frame (of one of `types`, skipping others); fails after timeout."""
        while True:
            frame = self.frames.get(timeout=timeout)
            if frame is None:
                raise EOFError("stream closed")
            if not types or frame.type in types:
                return frame

    def ended(self, timeout: float = 10.0) -> bool:
        """True once the server has closed the stream."""
        while True:
            try:
                frame = self.frames.get(timeout=timeout)
            except queue.Empty:
                return False
            if frame is None:
                return True

    def close(self) -> None:
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
