"""A typed client for the dialogpaint HTTP service, blocking (``Client``) and asyncio (``AsyncClient``)."""

from agent.client.aio import AsyncClient, AsyncRemoteSession, AsyncTurn
from agent.client.errors import Conflict, NotFound, Rejected, RetryLater, ServiceError, Unauthorized, Unreachable
from agent.client.events import Done, Event, NewRevision, Progress, Step, Token
from agent.client.retry import NO_RETRY, RetryPolicy
from agent.client.sync import Client, RemoteSession, Turn

__all__ = [
    "NO_RETRY", "AsyncClient", "AsyncRemoteSession", "AsyncTurn", "Client", "Conflict", "Done", "Event",
    "NewRevision", "NotFound", "Progress", "Rejected", "RemoteSession", "RetryLater", "RetryPolicy",
    "ServiceError", "Step", "Token", "Turn", "Unauthorized", "Unreachable",
]  # fmt: skip
