"""The one Server-Sent Events reader of the tests: frames parsed in a thread, from a real HTTP
connection (`Stream.http`, a live server) or from Flask's test client (`Stream.client`: the
streamed request context stays in the thread that made the request)."""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from server.routes.sse import MIMETYPE


@dataclass
class Frame:
    type: str
    data: Any
    id: str | None
    raw: str


def frames(lines: Iterable[str]) -> Iterator[Frame]:
    """The frames in a stream's lines (comments and retry-only blocks skipped)."""
    fields: dict[str, str] = {}
    raw: list[str] = []
    for text in lines:
        if text == "":
            if "data" in fields:
                event = fields.get("event", "message")
                yield Frame(event, json.loads(fields["data"]), fields.get("id"), "\n".join(raw))
            fields, raw = {}, []
            continue
        raw.append(text)
        if text.startswith(":"):
            continue
        name, _, value = text.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


# An opener runs in the reader thread: (status, mimetype, lines, interrupt, close); interrupt()
# may be called from another thread to unblock a read, close() runs in the reader thread.
Done = Callable[[], None]
Opener = Callable[[threading.Event], tuple[int, str, Iterator[str], Done, Done]]


class Stream:
    def __init__(self, opener: Opener) -> None:
        self.frames: queue.Queue[Frame | None] = queue.Queue()
        self.raw: list[str] = []
        self.body = ""
        self._opened: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._interrupt: Done = lambda: None
        self._thread = threading.Thread(target=self._run, args=(opener,), daemon=True)
        self._thread.start()
        self.status, self.mimetype = self._opened.get(timeout=30)

    @classmethod
    def http(cls, base: str, path: str, headers: dict[str, str] | None = None) -> Stream:
        url = urlparse(base)

        def opener(stop: threading.Event):
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
            conn.request("GET", path, headers={"Accept": MIMETYPE, **(headers or {})})
            resp = conn.getresponse()

            def lines() -> Iterator[str]:
                while not stop.is_set() and (line := resp.readline()):
                    yield line.decode("utf-8").rstrip("\n")

            def interrupt() -> None:
                try:
                    if conn.sock is not None:
                        conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            return resp.status, resp.headers.get_content_type(), lines(), interrupt, conn.close

        return cls(opener)

    @classmethod
    def client(cls, client, url: str, **kw) -> Stream:
        def opener(stop: threading.Event):
            response = client.get(url, buffered=False, **kw)

            def lines() -> Iterator[str]:
                pending = ""
                for chunk in response.response:
                    pending += chunk.decode() if isinstance(chunk, bytes) else chunk
                    *done, pending = pending.split("\n")
                    yield from done
                    if stop.is_set():
                        return

            # keep-alives arrive often in tests (see the fixtures), so `stop` is seen soon
            return response.status_code, response.mimetype, lines(), lambda: None, response.close

        return cls(opener)

    def _run(self, opener: Opener) -> None:
        try:
            status, mimetype, lines, interrupt, close = opener(self._stop)
        except (OSError, http.client.HTTPException) as exc:
            self._opened.put((None, repr(exc)))
            self.frames.put(None)
            return
        self._interrupt = interrupt
        if status != 200:
            self.body = "\n".join(lines)
        self._opened.put((status, mimetype))
        try:
            if status == 200:
                for frame in frames(lines):
                    self.raw.append(frame.raw)
                    self.frames.put(frame)
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed under us
        finally:
            close()
            self.frames.put(None)

    def next(self, *types: str, timeout: float = 10.0) -> Frame:
        """The next frame (of one of `types`, others skipped); fails after `timeout` seconds."""
        while True:
            try:
                frame = self.frames.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {types or 'frame'} within {timeout} s") from None
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
        self._stop.set()
        self._interrupt()
        self._thread.join(timeout=5)
