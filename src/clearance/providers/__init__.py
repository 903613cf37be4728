"""Providers: the chat-completions backends the router calls."""

from clearance.providers.base import ChatRequest, ChunkCallback, Provider, ProviderReply
from clearance.providers.types import FINISH_REASONS, ChatResponse, FinishReason, ToolCall

__all__ = [
    "FINISH_REASONS",
    "ChatRequest",
    "ChatResponse",
    "ChunkCallback",
    "FinishReason",
    "Provider",
    "ProviderReply",
    "ToolCall",
]
