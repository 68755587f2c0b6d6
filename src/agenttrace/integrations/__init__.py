"""Framework integrations, one small module per framework, each built on
:class:`agenttrace.AgentHooks`.

Nothing here imports a framework at package import time: each module imports its framework when
it is used, so ``import agenttrace`` stays light whatever is installed.

- :mod:`agenttrace.integrations.langchain`: LangChain and LangGraph callback handlers.
- :mod:`agenttrace.integrations.openai_agents`: an OpenAI Agents SDK ``TracingProcessor``.
- :mod:`agenttrace.integrations.openai`: OpenAI client (Chat Completions, Responses).
- :mod:`agenttrace.integrations.anthropic`: Anthropic client (Messages).
- :mod:`agenttrace.integrations.mcp`: MCP client tool calls and server-side trace continuation.
"""
