"""Serving an ASGI app under uvicorn with a deadline on request headers, which uvicorn does not have.

uvicorn's h11 protocol cancels its keep-alive timer on every byte received, so a client that sends a
request's headers one byte a second holds its connection for ever (the service's body deadline starts
only once the headers are in). ``HeaderDeadline`` answers 408 and closes a connection whose headers are
not complete within ``header_timeout_s`` of the connection opening or of the previous response ending.
"""

from __future__ import annotations

from typing import Any

REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def header_deadline_protocol(seconds: float) -> type[Any]:
    """Uvicorn's h11 protocol with the header deadline (a class for ``uvicorn.Config(http=...)``)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        """h11 that answers 408 and closes when a request's headers take longer than the deadline."""

        header_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self.arm_header_deadline()

        def arm_header_deadline(self) -> None:
            self.disarm_header_deadline()
            self.header_timer = self.loop.call_later(seconds, self.headers_too_slow)

        def disarm_header_deadline(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a request's headers are complete: the body has its own deadline
                self.disarm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self.arm_header_deadline()  # the next request on this connection gets the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm_header_deadline()
            super().connection_lost(exc)

        def headers_too_slow(self) -> None:
            self.header_timer = None
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being served: not waiting for headers
            if not self.transport.is_closing():
                self.transport.write(REQUEST_TIMEOUT)
                self.transport.close()

    return HeaderDeadline


def serve(app: Any, *, host: str, port: int, header_timeout_s: float, **options: Any) -> None:
    """``uvicorn.run`` with the header deadline; ``options`` go to uvicorn as they are."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, http=header_deadline_protocol(header_timeout_s), **options)
