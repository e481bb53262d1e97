"""Evaluation: scripted dialogues (format, running, scoring, image metrics, reports) and simulated users (simulate/)."""
