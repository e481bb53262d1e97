"""session_tool(): a dialogpaint session as a LangChain tool, so a ReAct-style agent can delegate image edits.

The agent passes the user's words about the image through unchanged; the session does the dialogue
(clarify, confirm, edit, undo) and the tool returns its reply for the agent to relay. When the reply
asks a question or proposes an edit, the agent's next call carries the user's answer ("yes", "more
blue"). The Reply itself is the tool's artifact, so the calling application gets the head revision
without parsing the text.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from agent.session.reply import Reply
from agent.session.session import Session
from tools.errors import DialogPaintError

DESCRIPTION = (
    "Edit the user's image. Pass what the user said about the image, in their words (e.g. 'make it brighter', "
    "'undo that', or their answer 'yes' to a proposed edit). Returns the editor's reply: relay it to the user; "
    "if it asks a question or proposes an edit, call this tool again with the user's answer."
)


class EditRequest(BaseModel):
    """The tool's one argument."""

    request: str = Field(description="What the user said about the image, or their answer to the editor.")


def session_tool(session: Session, name: str = "edit_image") -> StructuredTool:
    """A tool that sends each request to ``session``; the content is the reply text, the artifact the Reply."""

    def edit_image(request: str) -> tuple[str, Reply | None]:
        try:
            reply = session.send(request)
        except DialogPaintError as exc:  # the request was refused (too long, busy): the agent can tell the user
            return f"The image editor refused that: {exc}", None
        done = f"[{reply.action}; current revision {reply.head}]"
        return f"{reply.text} {done}" if reply.text else done, reply

    return StructuredTool.from_function(
        edit_image, name=name, description=DESCRIPTION, args_schema=EditRequest, response_format="content_and_artifact"
    )
