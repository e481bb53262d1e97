"""A tiny random-weight Qwen2 causal LM with a tool-calling chat template, built fully offline.

The tokenizer is a byte-level BPE trained here (tokenizers) on the system prompt and tool schemas
the graph sends, so a whole request is a few thousand tokens; the chat template follows the
Hermes/Qwen2.5 layout vLLM's `hermes` tool parser reads: tools listed in the system turn, calls as
<tool_call>{"name": ..., "arguments": {...}}</tool_call>, tool results as <tool_response> user turns.
"""

from __future__ import annotations

import json
from pathlib import Path

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]
CHAT_TEMPLATE = """\
{%- set rest = messages[1:] if messages[0].role == 'system' else messages -%}
<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}{% endif %}
{%- if tools %}

# Tools
<tools>
{%- for tool in tools %}
{{ tool | tojson }}
{%- endfor %}
</tools>
For each function call, return a json object with the function name and arguments within <tool_call></tool_call>.
{%- endif %}<|im_end|>
{% for message in rest -%}
{%- if message.role == 'user' -%}
<|im_start|>user
{{ message.content }}<|im_end|>
{% elif message.role == 'assistant' -%}
<|im_start|>assistant
{% if message.content %}{{ message.content }}{% endif %}
{%- for call in message.tool_calls or [] -%}
<tool_call>
{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}
</tool_call>
{%- endfor %}<|im_end|>
{% elif message.role == 'tool' -%}
<|im_start|>user
<tool_response>
{{ message.content }}
</tool_response><|im_end|>
{% endif -%}
{%- endfor -%}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif -%}
"""


def corpus() -> list[str]:
    """Text like the requests: the system prompt, the tool schemas and some conversation."""
    from agent.models.prompts import system_prompt
    from graphs.specs import tool_schemas
    from tools.registry import load_registry

    tools = load_registry()
    schemas = json.dumps(tool_schemas(tools, pending=True))
    turns = "make it brighter. Done: make it brighter. Applied as revision, now the current image: undo redo yes no"
    return [system_prompt("auto", tools), schemas, turns] * 3


def save_tiny_chat_lm(folder: Path, vocab_size: int = 3000) -> Path:
    """Train the tokenizer, build a seeded tiny Qwen2 and ``save_pretrained`` both to ``folder / 'lm'``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(corpus(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<tool_call>", "</tool_call>"]})
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=16384, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=None, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    target = folder / "lm"
    Qwen2ForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
