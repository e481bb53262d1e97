"""Scripted multi-turn evaluation: the dataset format, running dialogues, scoring, image metrics, reports."""
