"""Adapters to other frameworks: a LangChain tool, the LangGraph Agent Server graph, editors on Ray Serve."""
