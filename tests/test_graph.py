"""The editing graph driven turn by turn with a scripted model, a recording tool and fresh threads."""

from __future__ import annotations

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import START, StateGraph

from agent.session.engine import Engine
from graphs.deps import GraphDeps
from graphs.nodes.actions import undo
from graphs.nodes.closing import reply
from graphs.revisions import lineage
from graphs.state import EditState
from tests.fakes import CostlyTool, ai, call, failing_tool


def all_calls_answered(session) -> bool:
    messages = session.state()["messages"]
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    calls = [c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    return set(calls) <= answered


def test_clarify_then_edit_keeps_context(make_session, tool):
    session = make_session(
        [
            ai(call("ask_clarification", question="Which part should be red?", options=["the car", "everything"])),
            ai(call("mirror", instruction="make the car red")),
        ]
    )
    first = session.send("make it red")
    assert first.action == "clarify"
    assert "Which part should be red?" in first.text and "the car" in first.text
    assert len(first.revisions) == 1 and not tool.calls
    second = session.send("the car")
    assert second.action == "edit" and second.instruction == "make the car red"
    seen = session.engine.deps.model.seen[-1]
    texts = [str(m.content) for m in seen]
    assert "make it red" in texts and "the car" in texts  # the answer arrives with the question's context
    assert len(second.revisions) == 2 and second.head != first.head
    assert all_calls_answered(session)


def test_edit_records_recipe_and_moves_head(make_session, tool):
    session = make_session([ai(call("mirror", instruction="mirror it", strength=2))])
    root = session.head
    reply = session.send("mirror it")
    head = session.head
    assert reply.head == head["id"] and head["parent"] == root["id"]
    assert head["tool"] == "mirror" and head["instruction"] == "mirror it"
    assert head["params"]["strength"] == 2 and isinstance(head["params"]["seed"], int)
    assert tool.calls == [((64, 48), {"strength": 2}, head["params"]["seed"])]
    assert session.image().getpixel((0, 0)) == session.image(root["id"]).getpixel((63, 0))


def test_seed_is_reproducible_for_the_same_request(make_session):
    a = make_session([ai(call("mirror", instruction="mirror it"))])
    b = make_session([ai(call("mirror", instruction="mirror it"))])
    assert a.send("x").revisions[-1]["params"]["seed"] == b.send("x").revisions[-1]["params"]["seed"]


def test_several_edits_in_one_message_run_in_order(make_session, tool):
    session = make_session([ai(call("mirror", instruction="one"), call("mirror", instruction="two", strength=3))])
    reply = session.send("do both")
    path = session.path()
    assert [r["instruction"] for r in path] == [None, "one", "two"]
    assert reply.text == "Done: one. Done: two."
    assert [c[1]["strength"] for c in tool.calls] == [1, 3]


def test_an_undo_then_an_edit_in_one_message_runs_both_in_order(make_session, tool):
    # "no, make it blue instead": the one leading control call, then the edits (graphs.nodes.decide.conflicting)
    session = make_session(
        [ai(call("mirror", instruction="one")), ai(call("undo", steps=1), call("mirror", instruction="two"))]
    )
    session.send("mirror it")
    reply = session.send("no, the other way")
    assert [r["instruction"] for r in session.path()] == [None, "two"]
    assert reply.action == "edit" and len(tool.calls) == 2


def test_edits_per_message_cap(make_session, tool):
    from graphs.deps import TurnLimits

    calls = [call("mirror", instruction=f"edit {i}") for i in range(3)]
    session = make_session([ai(*calls)], limits=TurnLimits(edits_per_message=2))
    reply = session.send("three edits")
    assert len(reply.revisions) == 3  # upload + 2
    assert "at most 2 edits" in session.state()["messages"][-2].content
    assert all_calls_answered(session)


def test_undo_redo_and_branch(make_session):
    session = make_session(
        [
            ai(call("mirror", instruction="a")),
            ai(call("mirror", instruction="b")),
            ai(call("mirror", instruction="c")),
            ai(call("undo", steps=2)),
            ai(call("redo")),
            ai(call("mirror", instruction="d")),
            ai(call("redo")),
            ai(call("undo", steps=9)),
            ai(call("undo")),
        ]
    )
    root = session.head["id"]
    for text in "abc":
        session.send(text)
    a, b, c = (r["id"] for r in session.path()[1:])
    undo = session.send("go back two steps")
    assert (undo.action, undo.undo_steps, undo.head) == ("undo", 2, a)
    assert session.send("redo").head == b
    branch = session.send("d")
    assert session.head["parent"] == b and branch.head not in (a, b, c)
    assert len(branch.revisions) == 5  # nothing deleted: c is still there
    nothing = session.send("redo")
    assert nothing.head == branch.head and "nothing to redo" in nothing.text.lower()
    far = session.send("undo everything")
    assert far.head == root and "Only 3 could be undone" in far.text
    noop = session.send("undo")
    assert noop.head == root and "nothing to undo" in noop.text.lower()


def test_failing_tool_adds_no_revision_and_session_stays_usable(make_session):
    tool = failing_tool()
    session = make_session([ai(call("mirror", instruction="mirror it")), ai(text="still here")], tools={"mirror": tool})
    reply = session.send("mirror it")
    assert reply.action == "edit" and reply.error and "ran out of paint" in reply.text
    assert len(reply.revisions) == 1
    assert session.send("hello").text == "still here"


def test_crashing_plugin_is_reported_not_raised(make_session):
    from tests.fakes import RecordingTool

    session = make_session([ai(call("mirror", instruction="x"))], tools={"mirror": RecordingTool(ZeroDivisionError())})
    reply = session.send("x")
    assert "crashed" in reply.text and len(reply.revisions) == 1


def test_invalid_calls_get_error_tool_messages_and_a_repair_round(make_session, tool):
    session = make_session(
        [
            ai(call("paint_it_black", instruction="x"), call("mirror", instruction="y")),
            ai(call("mirror", instruction="mirror it", strength=99)),
            ai(call("mirror", instruction="mirror it")),
        ]
    )
    reply = session.send("mirror it")
    assert reply.action == "edit" and len(reply.revisions) == 2 and len(tool.calls) == 1
    errors = [m for m in session.state()["messages"] if isinstance(m, ToolMessage) and m.status == "error"]
    assert any("no tool named 'paint_it_black'" in m.content for m in errors)
    assert any("strength" in m.content for m in errors)
    assert all_calls_answered(session)


def test_model_call_cap_ends_the_turn_with_an_apology(make_session, tool):
    bad = [ai(call("mirror", strength=1)) for _ in range(3)]  # instruction missing every time
    session = make_session([*bad, ai(text="ok")])
    reply = session.send("mirror")
    assert reply.action == "chat" and "another way" in reply.text
    assert len(session.engine.deps.model.seen) == 3 and not tool.calls
    assert session.send("hi").text == "ok"


def test_model_failure_ends_turn_cleanly(make_session):
    session = make_session([TimeoutError("read timed out"), ai(text="back")])
    reply = session.send("mirror")
    assert "TimeoutError" in reply.text and "Nothing was changed" in reply.text and len(reply.revisions) == 1
    assert reply.error == reply.text and reply.action == "chat"
    assert session.send("hi").text == "back"


def test_confirm_accept(make_session, tool):
    session = make_session(
        [ai(call("mirror", instruction="mirror it")), ai(call("confirm_pending", approve=True))], confirm="always"
    )
    proposal = session.send("mirror it")
    assert proposal.action == "confirm" and proposal.confirmation["kind"] == "confirm_edit"
    assert session.engine.graph.get_state(session.config).next == ("confirm",)
    assert proposal.confirmation["edits"][0]["args"]["instruction"] == "mirror it"
    assert not tool.calls  # nothing runs before the user answers
    done = session.send("yes")
    assert done.action == "edit" and len(done.revisions) == 2 and len(tool.calls) == 1
    assert session.state()["pending"] is None
    assert all_calls_answered(session)


def test_confirm_reject(make_session, tool):
    session = make_session(
        [ai(call("mirror", instruction="mirror it")), ai(call("confirm_pending", approve=False))], confirm="always"
    )
    session.send("mirror it")
    reply = session.send("no")
    assert reply.action == "chat" and "won't apply" in reply.text
    assert len(reply.revisions) == 1 and not tool.calls and session.state()["pending"] is None


def test_confirm_modify_runs_the_new_edit_only(make_session, tool):
    session = make_session(
        [ai(call("mirror", instruction="make it red")), ai(call("mirror", instruction="make it blue", strength=2))],
        confirm="always",
    )
    session.send("make it red")
    # Even under 'always', the answer to a confirmation is not asked again.
    reply = session.send("no, make it blue instead")
    assert reply.action == "edit" and reply.instruction == "make it blue"
    assert [c[1]["strength"] for c in tool.calls] == [2]


def test_auto_policy_confirms_costly_tools_and_edits_after_a_question(make_session):
    costly = CostlyTool()
    session = make_session(
        [ai(call("costly_mirror", instruction="x")), ai(call("confirm_pending", approve=True)),
         ai(call("ask_clarification", question="What?")), ai(call("mirror", instruction="change it to a bright y")),
         ai(call("confirm_pending", approve=True)), ai(call("mirror", instruction="z")),
         ai(call("ask_clarification", question="What?")), ai(call("mirror", instruction="make it w"))],
        confirm="auto", tools={"costly_mirror": costly, "mirror": CostlyTool.__mro__[1]()},
    )  # fmt: skip
    assert session.send("x").action == "confirm"
    assert session.send("yes").action == "edit"
    assert session.send("change it").action == "clarify"
    assert session.send("y").action == "confirm"  # rewritten after a question: 'bright' is the model's word
    assert session.send("yes").action == "edit"
    assert session.send("z").action == "edit"  # cheap and explicit: no confirmation
    assert session.send("change it").action == "clarify"
    assert session.send("Make it w.").action == "edit"  # the answer run in the user's own words: not asked again


def test_auto_policy_runs_a_costly_edit_the_user_named_in_answer_to_a_question(make_session):
    """One question per edit: after "what should I change?" the answer is the consent, costly tool or not,
    when the instruction is made of the user's words (the request and the answer, plus glue words)."""
    costly = CostlyTool()
    session = make_session(
        [ai(call("ask_clarification", question="What?")),
         ai(call("costly_mirror", instruction="change the sky to purple")),
         ai(call("ask_clarification", question="What?")),
         ai(call("costly_mirror", instruction="make the sky a deep purple"))],
        confirm="auto", tools={"costly_mirror": costly},
    )  # fmt: skip
    assert session.send("change the sky").action == "clarify"
    assert session.send("purple").action == "edit"  # assembled from 'change the sky' + 'purple'
    assert session.send("change the sky").action == "clarify"
    assert session.send("purple").action == "confirm"  # 'deep' is the model's word: the user sees it first


def test_revisions_hold_references_not_pixels(make_session):
    session = make_session([ai(call("mirror", instruction="m"))])
    session.send("m")
    for revision in session.revisions:
        assert len(revision["image"]) == 64 and revision["image"] in session.engine.deps.store
    assert lineage(session.revisions, session.head["id"])[0]["parent"] is None


def test_send_reports_steps_progress_and_tokens_in_order(make_session):
    session = make_session(
        [ai(text="Hello! What would you like to change?"), ai(call("mirror", instruction="mirror it"))]
    )
    events = []
    session.send("hi", on_event=events.append)
    assert {"kind": "token", "text": "Hello! What would you like to change?"} in events
    assert [e["node"] for e in events if e["kind"] == "step"] == ["decide"]
    assert not [e for e in events if e["kind"] == "revision"]
    events.clear()
    reply = session.send("mirror it", on_event=events.append)
    kinds = [e["kind"] if e["kind"] != "step" else e["node"] for e in events]
    assert kinds.index("decide") < kinds.index("progress") < kinds.index("edit") < kinds.index("revision")
    # the edit's own step closes the turn (graphs.nodes.closing): two steps, the revision announced once saved
    assert [e["node"] for e in events if e["kind"] == "step"] == ["decide", "edit"]
    assert [e["revision"] for e in events if e["kind"] == "revision"] == [session.head] == list(reply.revisions[1:])
    assert not [e for e in events if e["kind"] == "token"]


def test_every_revision_a_message_makes_is_announced_in_creation_order(make_session):
    session = make_session([ai(call("mirror", instruction="one"), call("mirror", instruction="two"))])
    events: list[dict] = []
    reply = session.send("mirror it twice", on_event=events.append)
    announced = [e["revision"] for e in events if e["kind"] == "revision"]
    assert [r["instruction"] for r in announced] == ["one", "two"] and announced == list(reply.revisions[1:])


def test_every_session_object_sees_the_pending_confirmation_the_reply_came_from(make_session):
    session = make_session([ai(call("mirror", instruction="x")), ai(call("mirror", instruction="y"))], confirm="always")
    proposal = session.send("x")
    other = session.engine.resume(session.id)  # e.g. the next HTTP request
    assert other.confirmation() == proposal.confirmation == session.last_reply().confirmation
    assert other.send("yes").action == "edit"
    assert session.confirmation() is None and session.last_reply().action == "edit"
    again = session.send("y")
    assert again == session.last_reply()  # the reply built from the run's stream equals a fresh read


def test_history_ends_with_the_question_awaiting_an_answer(make_session):
    session = make_session([ai(call("mirror", instruction="x"))], confirm="always")
    proposal = session.send("x")
    assert session.history()[-2:] == [("user", "x"), ("assistant", proposal.text)]
    session.send("yes")
    assert [text for role, text in session.history()].count(proposal.text) == 1


def test_a_tool_that_cannot_run_here_is_offered_only_with_offer_unready(make_session):
    """offer_unready (eval's default) proposes it as before, and the edit says why it could not run."""

    class NoModel(CostlyTool):
        def unavailable_reason(self):
            return "no model configured: point --model-path at the weights"

    script = [ai(call("costly_mirror", instruction="x")), ai(call("confirm_pending", approve=True))]
    session = make_session(script, confirm="auto", tools={"costly_mirror": NoModel()}, offer_unready=True)
    assert session.send("x").action == "confirm"
    reply = session.send("yes")
    assert reply.action == "edit" and "no model configured" in (reply.error or "") and len(reply.revisions) == 1


def test_the_step_that_answers_the_last_call_closes_the_turn(make_session):
    session = make_session([ai(call("mirror", instruction="mirror it"))])
    before = session.engine.graph.get_state(session.config).metadata["step"]
    session.send("mirror it")
    state = session.engine.graph.get_state(session.config)
    assert state.next == () and state.metadata["step"] == before + 4  # input, start, decide, edit: no reply step
    assert session.history()[-1] == ("assistant", "Done: mirror it.")


def test_a_turn_an_older_version_left_before_its_reply_step_is_closed_once(make_session):
    session = make_session([ai(text="Hello.")])
    graph, deps = session.engine.graph, session.engine.deps
    # The wiring before the answering node closed the turn: undo, then a reply step of its own.
    builder = StateGraph(EditState, context_schema=GraphDeps)
    builder.add_node(undo)
    builder.add_node(reply)
    builder.add_edge(START, "undo")
    builder.add_edge("undo", "reply")
    older = builder.compile(checkpointer=graph.checkpointer)
    said = {"messages": [HumanMessage("undo"), AIMessage("", tool_calls=[call("undo", steps=1)])]}
    older.invoke(said, session.config, context=deps, interrupt_before=["reply"])  # stopped there (a crash)
    assert graph.get_state(session.config).next == ("reply",)
    resumed = Engine(graph, deps).resume(session.id)  # a process that has not run the session yet
    assert resumed.send("hi").text == "Hello."
    assert resumed.history()[-4:] == [
        ("user", "undo"), ("assistant", "There is nothing to undo: this is the original image."),
        ("user", "hi"), ("assistant", "Hello."),
    ]  # fmt: skip
