"""The system prompt as the model reads it: the tools it names exist, and the modes agree with the graph."""

from __future__ import annotations

import pytest

from agent.models.prompts import prompt_tokens, system_prompt
from tools.registry import load_registry


def test_the_prompt_names_only_the_tools_configured():
    # With --editor or a tools filter the registry is small; the prompt must not offer missing tools.
    prompt = system_prompt("auto", load_registry(plugins=False, enabled=["grayscale", "blur"]))
    assert "Exact: grayscale, blur.\nGenerative: none." in prompt
    assert "instruct_pix2pix" not in prompt and "adjust_tone" not in prompt
    assert "Without a generative tool, say in plain text" in prompt


def test_the_default_registry_has_a_generative_tool():
    prompt = system_prompt("auto", load_registry(plugins=False))
    assert "Generative: instruct_pix2pix." in prompt and "Exact: adjust_tone, " in prompt


@pytest.mark.parametrize("mode", ["required", "json"])
def test_modes_without_plain_text_say_where_plain_text_goes(mode):
    # The shared instructions say "answer in plain text"; these modes must map that onto their format.
    prompt = system_prompt(mode, load_registry(plugins=False, enabled=["grayscale"]))
    assert "wherever these instructions say to answer in plain text" in prompt
    assert prompt.index("AVAILABLE TOOLS") < prompt.index("ANSWER FORMAT")


@pytest.mark.parametrize("mode", ["auto", "required", "json"])
def test_prompt_and_schemas_stay_within_the_allowance_docs_serving_gives(mode):
    # docs/serving.md: leave about 5500 tokens of --max-model-len for these (measured 4,490-4,671 at
    # four characters a token, up to 5,183 with a BPE tokenizer; crop's aspect added ~40); a growing
    # prompt must update it.
    assert prompt_tokens(mode, load_registry(plugins=False)) <= 5050
