"""Work cut from every turn (issue 29) gives exactly what the work it replaced gave."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, trim_messages

from graphs.facts import AppliedEdit, applied_edits
from graphs.nodes.decide import trim_history
from graphs.revisions import lineage, new_revision
from graphs.state import Revision


def conversation(turns: int, words: int = 5) -> list[AIMessage | HumanMessage | ToolMessage]:
    messages: list[AIMessage | HumanMessage | ToolMessage] = [AIMessage("left over from a turn moved out")]
    for n in range(turns):
        call = {"name": "mirror", "args": {"instruction": "mirror " * words}, "id": f"c{n}", "type": "tool_call"}
        messages += [HumanMessage(f"turn {n} " + "word " * words), AIMessage("", tool_calls=[call])]
        messages += [ToolMessage("applied " * words, tool_call_id=f"c{n}"), AIMessage(f"Done {n}.")]
    return messages


def test_trim_history_is_trim_messages_whether_or_not_the_window_fits():
    for turns, words, budget in ((16, 5, 6000), (16, 200, 6000), (3, 5, 10), (24, 40, 900)):
        messages = conversation(turns, words)
        expected = trim_messages(
            messages, max_tokens=budget, token_counter="approximate", strategy="last", start_on="human"
        )
        got = trim_history(messages, budget)
        if expected:
            assert got == expected, (turns, words, budget)
        else:  # nothing fits: the current turn is sent anyway
            assert got == messages[-4:]
    assert trim_history([AIMessage("hello")], 6000) == [AIMessage("hello")]  # no user message: kept as is


def direct(path: list[Revision]) -> list[AppliedEdit]:
    return [AppliedEdit(tool=str(r["tool"]), instruction=r["instruction"] or "") for r in path[1:]]


def test_applied_edits_follow_the_head_through_edits_undo_and_branches():
    revisions = [new_revision("a" * 64)]
    for n in range(30):
        revisions.append(new_revision("b" * 64, parent=revisions[-1]["id"], instruction=f"edit {n}", tool="mirror"))
        path = lineage(revisions, revisions[-1]["id"])
        assert applied_edits(path) == direct(path)
    # an undo of five edits, then a branch from there: the path shrinks, then grows another way
    undone = revisions[-6]["id"]
    assert applied_edits(lineage(revisions, undone)) == direct(lineage(revisions, undone))
    revisions.append(new_revision("c" * 64, parent=undone, instruction="blur", tool="blur"))
    branch = lineage(revisions, revisions[-1]["id"])
    assert applied_edits(branch) == direct(branch) and applied_edits(branch)[-1]["instruction"] == "blur"
    assert applied_edits(lineage(revisions, revisions[0]["id"])) == []
    edited = applied_edits(branch)
    edited.append(AppliedEdit(tool="x", instruction="y"))  # a caller's list is its own
    assert applied_edits(branch) == direct(branch)
