"""The dialogue agent and its surfaces: settings, chat models, prompts, Session API, CLI."""
