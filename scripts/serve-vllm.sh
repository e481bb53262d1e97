#!/usr/bin/env bash
# Serve the dialogue model for dialogpaint with vLLM's OpenAI-compatible server (see docs/serving.md).
#
# Every setting can be overridden from the environment, e.g.
#   MODEL=meta-llama/Llama-3.1-8B-Instruct PARSER=llama3_json \
#   CHAT_TEMPLATE=examples/tool_chat_template_llama3.1_json.jinja scripts/serve-vllm.sh
set -euo pipefail

MODEL="${MODEL:-Qwen/Qwen2.5-7B-Instruct}"
PARSER="${PARSER:-hermes}"              # hermes: Qwen2.5 and Hermes; llama3_json: Llama 3.1-3.3; mistral: Mistral
CHAT_TEMPLATE="${CHAT_TEMPLATE:-}"      # some parsers need vLLM's tool chat template (Llama 3.1: see the docs)
HOST="${HOST:-0.0.0.0}"
PORT="${PORT:-8000}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-16384}" # ~5.5k tokens of prompt + tools, + DIALOGPAINT_CONTEXT_TOKENS + max tokens
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.90}"
API_KEY="${API_KEY:-}"                  # if set, clients must send it (DIALOGPAINT_LLM_API_KEY)

if ! command -v vllm >/dev/null 2>&1; then
    echo "error: the 'vllm' command is not installed here (pip install vllm, on a machine with a CUDA GPU)" >&2
    exit 2
fi

args=(serve "$MODEL"
    --host "$HOST" --port "$PORT"
    --max-model-len "$MAX_MODEL_LEN"
    --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION"
    --enable-auto-tool-choice --tool-call-parser "$PARSER")
if [[ -n "$CHAT_TEMPLATE" ]]; then args+=(--chat-template "$CHAT_TEMPLATE"); fi
if [[ -n "$API_KEY" ]]; then args+=(--api-key "$API_KEY"); fi

cat >&2 <<HINT
dialogpaint settings for this server (then check it with: dialogpaint doctor):
  export DIALOGPAINT_LLM=http://127.0.0.1:${PORT}/v1
  export DIALOGPAINT_LLM_MODEL=${MODEL}
  export DIALOGPAINT_LLM_TOOL_MODE=auto
HINT
if [[ -n "$API_KEY" ]]; then echo "  export DIALOGPAINT_LLM_API_KEY=<the API_KEY you set>" >&2; fi
exec vllm "${args[@]}"
