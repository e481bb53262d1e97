"""Simulated-user evaluation: hidden goals, a simulated user, baselines, scores and reports (`dialogpaint simulate`)."""
