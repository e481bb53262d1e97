"""The in-process API: Engine and Session, the Reply of a turn, idempotent retries, the per-session lock,
provenance and replay from recipes. ``from agent.session import Engine, Session`` is the documented path.
"""

from agent.session.engine import Engine, Session

__all__ = ["Engine", "Session"]
