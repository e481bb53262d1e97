"""The dialogue agent: configuration (``settings``), the composition root (``wiring``) and its folders.

Folders by role: ``session`` (the in-process API), ``models`` (dialogue-model factories, fleet, prompts),
``policy`` (the embedded policy), ``cli``, ``service``, ``client`` and ``mcp_server`` (the surfaces),
``integrations`` (LangChain, LangGraph Agent Server, Ray Serve), ``eval`` (evaluation) and ``train``
(one folder per training command).
"""
