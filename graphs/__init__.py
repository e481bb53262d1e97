"""The LangGraph state machine of a dialogue editing session, its revision tree and image store."""
