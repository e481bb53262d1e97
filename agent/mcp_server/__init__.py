"""The MCP server (`dialogpaint mcp`): the Session API as MCP tools and resources, over stdio or streamable HTTP."""
