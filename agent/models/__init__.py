"""Dialogue models: the factories (embedded local policy, OpenAI-compatible/vLLM client), the fleet, the prompts."""
