"""The dialogue agent and its surfaces: the Session API, settings, prompts, chat-model factories and wiring.

Subpackages: ``policy`` (the embedded dialogue policy), ``cli`` (the command line), ``eval`` (scripted
evaluation) and ``service`` (the HTTP service).
"""
