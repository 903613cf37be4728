"""Providers: the chat-completions backends the router calls."""

from clearance.providers.base import ChatRequest, ChunkCallback, Provider, ProviderReply
from clearance.providers.lowering import Loss, Lowered, lower_parameters, lower_schema
from clearance.providers.types import (
    FINISH_REASONS,
    NATIVE_KEY,
    PROTOCOLS,
    ChatResponse,
    FinishReason,
    NativeTurn,
    Protocol,
    ToolCall,
)

__all__ = [
    "FINISH_REASONS",
    "NATIVE_KEY",
    "PROTOCOLS",
    "ChatRequest",
    "ChatResponse",
    "ChunkCallback",
    "FinishReason",
    "Loss",
    "Lowered",
    "NativeTurn",
    "Protocol",
    "Provider",
    "ProviderReply",
    "ToolCall",
    "lower_parameters",
    "lower_schema",
]
