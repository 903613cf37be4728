"""A catalog snapshot: providers, models and their prices in one JSON file a team commits.

``clearance models export`` writes it and ``clearance models sync --from FILE``
restores it, so a CI run whose catalog is fresh gates the same models at the same
prices. Format version 1::

    {
      "format": "clearance-models",
      "version": 1,
      "exported_at": "2026-12-09T10:00:00+00:00",
      "providers": [
        {
          "name": "vllm",
          "base_url": "http://gpu-1:8000/v1",
          "api_key_env": "VLLM_API_KEY",
          "models_format": "openai",
          "protocol": "openai",
          "models": [
            {
              "id": "vllm:llama3",
              "name": "llama3",
              "display_name": null,
              "context_length": 8192,
              "max_completion_tokens": null,
              "capabilities": {"tools": null, "...": "..."},
              "pricing_status": "unknown",
              "removed": false,
              "source_metadata": {"id": "llama3", "object": "model", "owned_by": "vllm"},
              "prices": {
                "manual": {
                  "prompt_per_token": "0.0000002",
                  "completion_per_token": "0.0000006",
                  "cache_read_per_token": null,
                  "cache_write_per_token": null,
                  "reasoning_per_token": null,
                  "per_request_usd": "0",
                  "per_image_usd": "0",
                  "per_web_search_usd": "0",
                  "tiers": [],
                  "effective_at": "2026-12-01T09:00:00+00:00",
                  "reason": "our GPU cost",
                  "set_by": "alice",
                  "host": "laptop-7"
                }
              }
            }
          ]
        }
      ]
    }

``source_metadata`` is the entry as the provider's list gave it (the report reads
it: a reference-simulator model is marked as one). Rates are USD per token and
fees USD, always exact decimal strings. ``prices``
holds, per price source (``provider``, ``litellm``, ``manual``), the newest
version; only ``manual`` ones carry ``reason``, ``set_by`` and ``host``.
``protocol`` is the wire protocol the provider speaks (``openai``, ``anthropic`` or
``gemini``; a snapshot written before it existed reads as ``openai``). ``api_key_env``
is a variable's name: a key never enters a snapshot. Keys are
sorted and so are providers and models, so a re-export diffs cleanly.
"""

from clearance.catalog_snapshot.document import (
    FORMAT,
    PRICE_SOURCES,
    VERSION,
    CatalogSnapshot,
    ModelSnapshot,
    ProviderSnapshot,
    dumps_snapshot,
    is_snapshot,
    snapshot_document,
)
from clearance.catalog_snapshot.reader import parse_snapshot
from clearance.catalog_snapshot.transfer import export_snapshot, restore_snapshot

__all__ = [
    "FORMAT",
    "PRICE_SOURCES",
    "VERSION",
    "CatalogSnapshot",
    "ModelSnapshot",
    "ProviderSnapshot",
    "dumps_snapshot",
    "export_snapshot",
    "is_snapshot",
    "parse_snapshot",
    "restore_snapshot",
    "snapshot_document",
]
