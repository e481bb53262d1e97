"""A model plays the user: any OpenAI-compatible server, prompted with the hidden goal (two-agent protocol).

As in proactive text-to-image agents' evaluation, one model holds the target and answers the agent;
here the harness, not the model, decides when the goal is reached (the recipe on the image), so a
user model cannot end a case early by saying so. The opening is the case's (derived by its rule); every
later message is the model's, given the goal, what is on the image and the conversation so far.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.eval.simulate.cases import SimCase
from agent.eval.simulate.user import Observation
from tools.errors import DialogPaintError

MAX_MESSAGE = 300
PROMPT = """You are a person editing a picture by chatting with an image-editing assistant.
You have a goal you have not fully told the assistant: {goal}.
Your first message was: "{opening}".
Write your next message to the assistant, one short sentence, nothing else:
- if it asks a question, answer it only with what it asks about, from your goal;
- if it proposes an edit and asks to go ahead, say "yes" when the edit does your goal, else say no and what you meant;
- if it made an edit your goal does not want, ask it to undo that;
- otherwise tell it plainly the edit you want."""


class UserModelError(DialogPaintError, RuntimeError):
    """The user model gave no usable message."""


class LlmUser:
    """A chat model as the simulated user; it keeps the conversation of the case being played."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model
        self.history: list[BaseMessage] = []

    def opening(self, case: SimCase) -> str:
        """The case's opening; starts a new conversation."""
        self.history = [AIMessage(case.opening)]
        return case.opening

    def respond(self, case: SimCase, seen: Observation) -> str:
        """The model's next message as the user (the agent's words are its input, its own are its output)."""
        goal = "; then ".join(edit.instruction for edit in case.goal)
        edits = ", ".join(e.instruction or str(e.tool) for e in seen.path) or "none"
        state = f"(The picture now has these edits: {edits}.)"
        self.history.append(HumanMessage(f"{seen.text}\n{state}"))
        prompt = [SystemMessage(PROMPT.format(goal=goal, opening=case.opening)), *self.history]
        answer = self.model.invoke(prompt)
        text = " ".join(answer.text.split())[:MAX_MESSAGE].strip()
        if not text:
            raise UserModelError(f"the user model answered nothing on case {case.id!r} (turn {seen.turn + 1})")
        self.history.append(AIMessage(text))
        return text
