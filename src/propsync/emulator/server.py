"""The emulator's HTTPS server: uvicorn, with two changes to how it treats clients.

- A request whose body arrived in full is processed to the end even when the client
  has gone away: Salesforce commits a DML request it received whether or not anyone
  reads the answer, so a client that dies between Salesforce's answer and its own
  bookkeeping must meet records it did not hear about. uvicorn reports such a request
  as a bare disconnect, losing the body it already holds; here the body is handed to
  the app first.
- At shutdown open connections are aborted: a TLS close otherwise waits for each idle
  keep-alive client's close_notify, which an idle client never sends.

uvicorn is a heavy driver: the caller passes the imported module in.
"""

from __future__ import annotations

from typing import Any

# Request lines and headers up to this size reach the app, which answers an over-long
# URI as Salesforce does (414) instead of uvicorn dropping the connection.
MAX_REQUEST_HEAD = 32 * 1024 * 1024


def server_class(uvicorn: Any) -> Any:
    """A uvicorn.Server subclass that aborts open connections at shutdown."""

    class QuickStopServer(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            for conn in list(self.server_state.connections):
                transport = getattr(conn, "transport", None)
                if transport is not None:
                    transport.abort()
            await super().shutdown(sockets)

    return QuickStopServer


def protocol_class() -> Any:
    """uvicorn's h11 protocol, delivering a fully received request body before the
    client's disconnect."""
    # heavy driver (uvicorn): imported on first use
    from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

    class CommittingCycle(RequestResponseCycle):
        async def receive(self) -> Any:
            if self.disconnected and not self.more_body and not getattr(self, "_taken", False):
                # The whole body arrived before the client left: it is a request received.
                self._taken = True
                body, self.body = bytes(self.body), bytearray()
                return {"type": "http.request", "body": body, "more_body": False}
            message = await super().receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                self._taken = True
            return message

    class CommittingProtocol(H11Protocol):
        def handle_events(self) -> None:
            super().handle_events()
            # A cycle made just now has not started its task yet, so the app will be
            # given this cycle's receive.
            cycle = self.cycle
            if cycle is not None and type(cycle) is RequestResponseCycle:
                cycle.__class__ = CommittingCycle

    return CommittingProtocol
