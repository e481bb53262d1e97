"""Limits, names and checks defined once: every place that uses them agrees with the one definition."""

from __future__ import annotations

import pytest
from PIL import Image

from agent.session.refusals import InputLimits
from agent.settings import Settings
from graphs.deps import TurnLimits
from graphs.specs import CONTROL_TOOLS, Redo, Undo
from graphs.state import head_revision
from tools.base import CONTROL_TOOL_NAMES, MAX_STEPS, REPLY_TOOL, check_result
from tools.errors import EditFailed, ImageNotFound
from tools.redaction import redacted
from tools.registry import RESERVED_NAMES
from tools.remote import RemoteLimits


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:hunter2@db:5432/x", "postgresql://***@db:5432/x"),
        ("http://tokenonly@llm.example/v1", "http://***@llm.example/v1"),  # a token as the user name
        ("http://a:b@c@host/v1", "http://***@host/v1"),  # an @ inside the password
        ("postgresql://db/x?sslmode=disable&password=hunter2", "postgresql://db/x?sslmode=disable&password=***"),
        ("https://gpu.example/v1?API_KEY=hunter2&n=1", "https://gpu.example/v1?API_KEY=***&n=1"),
        ("http://[::1:hunter2@x/", "http://***@x/"),  # not parseable: still masked
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
    ],
)
def test_one_redaction_masks_the_user_part_and_credential_parameters(url, shown):
    assert redacted(url) == shown


def test_checkpoint_and_eval_use_the_one_redaction():
    import agent.eval.run
    import graphs.storage.checkpoint

    assert graphs.storage.checkpoint.redacted is redacted and agent.eval.run.redacted is redacted


def test_a_result_that_is_not_rgb_or_is_empty_is_refused_naming_the_tool():
    good = Image.new("RGB", (2, 2))
    assert check_result("blur", good) is good
    with pytest.raises(EditFailed, match="blur returned a RGBA image of size"):
        check_result("blur", Image.new("RGBA", (2, 2)))
    with pytest.raises(EditFailed, match=r"size \(0, 3\)"):
        check_result("blur", Image.new("RGB", (0, 3)))


def test_head_revision_finds_the_head_or_says_it_is_missing():
    revisions = [{"id": "r1"}, {"id": "r2"}]
    assert head_revision(revisions, "r2") is revisions[1]  # type: ignore[arg-type]
    with pytest.raises(ImageNotFound, match="no revision 'r9' among the session's 2 revisions"):
        head_revision(revisions, "r9")  # type: ignore[arg-type]


def test_control_names_are_defined_once_for_the_registry_and_the_schemas():
    assert tuple(CONTROL_TOOLS) == CONTROL_TOOL_NAMES
    assert {*CONTROL_TOOL_NAMES, REPLY_TOOL} == RESERVED_NAMES


def test_the_steps_bound_is_one_constant():
    from agent.service.schemas import StepsIn

    for model in (Undo, Redo, StepsIn):
        model.model_validate({"steps": MAX_STEPS})
        with pytest.raises(ValueError, match=f"less than or equal to {MAX_STEPS}"):
            model.model_validate({"steps": MAX_STEPS + 1})


def test_settings_defaults_are_the_limits_defaults():
    settings = Settings.model_construct()
    turn, inputs, remote = TurnLimits(), InputLimits(), RemoteLimits()
    for name in ("model_calls_per_turn", "edits_per_message", "context_tokens", "questions_in_a_row"):
        assert getattr(settings, name) == getattr(turn, name), name
    for name in ("max_message_chars", "max_pixels"):
        assert getattr(settings, name) == getattr(inputs, name), name
    assert settings.max_upload_bytes == inputs.max_upload_bytes == remote.max_request_bytes
    assert (settings.remote_connect_timeout_s, settings.remote_timeout_s) == (
        remote.connect_timeout_s,
        remote.read_timeout_s,
    )
