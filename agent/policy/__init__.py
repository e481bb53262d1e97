"""The embedded local dialogue policy: decides from the conversation text, offline, on the CPU."""
