"""The HTTP service behind ``dialogpaint serve``: sessions, SSE turns, revisions and the chat page."""
