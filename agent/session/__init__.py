"""The in-process API: Engine and Session, the input limits and refusals, the Reply of a turn, idempotent
retries, the per-session lock, provenance and replay from recipes.
``from agent.session import Engine, Session`` is the documented path.
"""

from agent.session.engine import Engine
from agent.session.session import Session

__all__ = ["Engine", "Session"]
