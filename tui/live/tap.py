"""The frame tap: how the recorder (or anything else) sees every raw frame at the websocket seam.

The SDK has no frame hook; it passes ``HttpOptions(async_client_args={"create_connection": cls})`` straight to
``websockets.asyncio.client.connect`` (``live-protocol.md`` §8), so ``tapped_connection_class(tap)`` returns a
``ClientConnection`` subclass that reports the handshake, every frame both ways (``setup`` and ``setupComplete``
included) and the close to ``tap``.

Threading: every tap method is called on the event loop, inline with the socket I/O, so it must be cheap and must
not block (the recorder only enqueues). A tap that raises is disabled rather than allowed to break the session.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection

log = logging.getLogger(__name__)


class FrameTap(Protocol):
    """Receives raw traffic. ``t_ns`` is ``time.monotonic_ns()`` when the frame crossed the seam."""

    def on_open(self, t_ns: int, url: str, headers: dict[str, str]) -> None:
        """The upgrade succeeded. ``url``/``headers`` are as sent: the tap must redact them before storing."""

    def on_send(self, t_ns: int, data: str | bytes) -> None:
        """The client sent one frame (the SDK sends JSON text frames)."""

    def on_recv(self, t_ns: int, data: bytes) -> None:
        """The client received one frame (the SDK reads with ``decode=False``, so bytes even for text frames)."""

    def on_close(self, t_ns: int, code: int | None, reason: str) -> None:
        """The connection closed (``code`` None when no close frame was seen)."""

    # Optional: ``on_close_initiator(t_ns, by)`` is called just before ``on_close`` when the tap defines it, with
    # ``by`` = ``"client"`` or ``"server"`` (who started the closing handshake) or None (no close frame: a drop).
    # The recorder stores it so replay knows whether to close or to wait for the client.

    def on_input(self, t_ns: int, kind: str, data: dict[str, Any]) -> None:
        """A local input the client acted on, so replay can re-inject it.

        ``kind`` is one of ``text`` (``{"text"}``), ``audio`` (``{"pcm": bytes, "rate": 16000}``), ``frame``
        (``{"jpeg": bytes, "width", "height", "source"}``), ``activity`` (``{"what": "start"|"end"|"stream_end"}``)
        or ``action`` (``{"name": "mute"|"unmute"|"interrupt"|"camera"|"screen"|..., ...}``).
        """


def tapped_connection_class(tap: FrameTap) -> type[ClientConnection]:
    """A ``ClientConnection`` subclass bound to ``tap``, for ``async_client_args={"create_connection": ...}``."""

    class TappedConnection(ClientConnection):
        _tap_ok = True
        _tap_closed = False

        def _tap(self, method: str, *args: Any) -> None:
            if not self._tap_ok:
                return
            try:
                getattr(tap, method)(time.monotonic_ns(), *args)
            except Exception:  # a broken tap must not break the live session
                self._tap_ok = False
                log.exception("frame tap %s failed; tap disabled for this connection", method)

        async def handshake(self, *args: Any, **kwargs: Any) -> None:
            await super().handshake(*args, **kwargs)
            request = self.request
            path = request.path if request is not None else ""
            host = request.headers.get("Host", "") if request is not None else ""
            headers = dict(request.headers.raw_items()) if request is not None else {}
            self._tap("on_open", f"wss://{host}{path}", headers)

        async def send(self, message: Any, text: bool | None = None) -> None:
            if isinstance(message, str | bytes):
                self._tap("on_send", message)
            await super().send(message, text=text)

        async def recv(self, decode: bool | None = None) -> Any:
            try:
                msg = await super().recv(decode=decode)
            except Exception:
                self._report_close()
                raise
            self._tap("on_recv", msg if isinstance(msg, bytes) else msg.encode("utf-8"))
            return msg

        async def close(self, code: int = 1000, reason: str = "") -> None:
            await super().close(code, reason)
            self._report_close()

        def _report_close(self) -> None:
            if self._tap_closed:
                return
            self._tap_closed = True
            rcvd = self.protocol.close_rcvd
            sent = self.protocol.close_sent
            if hasattr(tap, "on_close_initiator"):
                first = self.protocol.close_rcvd_then_sent
                self._tap("on_close_initiator", None if first is None else ("server" if first else "client"))
            if rcvd is not None:
                self._tap("on_close", rcvd.code, rcvd.reason)
            elif sent is not None:
                self._tap("on_close", sent.code, sent.reason)
            else:
                self._tap("on_close", None, "connection lost")

    return TappedConnection
