"""The schemas the portal's routes under ``/api/v1`` take and answer with, for the OpenAPI document:
decisions, their files, search, webhooks (each route is described beside its handler, in
``portal_bridge.api``, ``.search``, ``.webhooks`` and ``.consumers``).

Request bodies come from the models that validate them (``portal_bridge.document_commands``); the
webhook subscription's schema is written here from the same list of event types.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, get_args

from pydantic import TypeAdapter

from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER, DocumentRegister
from portal_bridge.documents import DocumentState, Status
from portal_bridge.webhooks import EVENT_TYPES
from session_server.http.openapi import OpenAPIPaths, component_schemas, ref

__all__ = ["description"]

_NULLABLE_TEXT = {"type": ["string", "null"]}
# Bodies that no model validates or builds: written from the handlers that read or answer them.
_WRITTEN_SCHEMAS: dict[str, Any] = {
    "DocumentSummary": {
        "type": "object",
        "description": "A document's row of the read model.",
        "required": ["id", "number", "title", "status", "seq"],
        "properties": {
            "id": {"type": "string"},
            "number": {"type": "string"},
            "title": {"type": "string"},
            "status": {"enum": list(get_args(Status))},
            "published_on": {**_NULLABLE_TEXT, "format": "date"},
            "session": _NULLABLE_TEXT,
            "item": _NULLABLE_TEXT,
            "decision_number": _NULLABLE_TEXT,
            "seq": {"type": "integer"},
        },
    },
    "DecisionSignature": {
        "type": "object",
        "description": "The decision.signed payload, its time `at`, and `check`: the signature verified again "
        "against the council's ledger as it stood when it was signed.",
        "required": ["signer", "algorithm", "key_id", "digest", "at"],
        "properties": {
            "signer": {"type": "string", "description": "the mayor's member id"},
            "algorithm": {"type": "string", "description": "`webauthn` (the mayor's device), `ed25519`, or another"},
            "key_id": {"type": "string", "description": "the credential id (webauthn) or the signer key's id"},
            "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "signature": {"type": "string", "description": "base64 (ed25519 and other key signatures)"},
            "council": {"type": "string", "description": "webauthn: what the challenge commits to, with the next two"},
            "document": {"type": "string"},
            "decision_number": {"type": "string"},
            "sign_count": {"type": "integer", "minimum": 0},
            "assertion": {
                "type": "object",
                "description": "webauthn: the assertion's raw parts, base64url",
                "required": ["credential", "authenticator_data", "client_data_json", "signature"],
                "properties": {
                    k: {"type": "string"} for k in ("credential", "authenticator_data", "client_data_json", "signature")
                },
            },
            "at": {"type": "string", "format": "date-time"},
            "check": {
                "type": "object",
                "required": ["verified", "problem"],
                "properties": {
                    "verified": {"type": "boolean"},
                    "problem": {**_NULLABLE_TEXT, "description": "what does not verify, when not verified"},
                    "signer_name": _NULLABLE_TEXT,
                    "key_id": _NULLABLE_TEXT,
                    "signed_at": {**_NULLABLE_TEXT, "format": "date-time"},
                    "device_enrolled_at": {**_NULLABLE_TEXT, "format": "date-time"},
                    "device_revoked_at": {**_NULLABLE_TEXT, "format": "date-time"},
                },
            },
        },
    },
    "DecisionExport": {
        "type": "object",
        "description": "What `kvorum verify` checks for a decision (docs/ledger.md, Signed decisions).",
        "required": ["format", "council", "document", "keys", "document_events", "council_ledger"],
        "properties": {
            "format": {"const": "kvorum-decision-v1"},
            "council": {"type": "string"},
            "document": {"type": "string"},
            "keys": {"type": "array", "items": {"type": "string"}, "description": "checkpoint verifier keys (vkey)"},
            "document_events": {
                "type": "array",
                "items": {"type": "string", "contentEncoding": "base64"},
                "description": "the canonical bytes of each event of document:<id>, seq 1 first",
            },
            "council_ledger": {
                "type": "object",
                "required": ["origin", "leaves", "checkpoints", "consistency"],
                "properties": {
                    "origin": {"type": "string"},
                    "leaves": {"type": "array", "items": {"type": "string", "contentEncoding": "base64"}},
                    "checkpoints": {"type": "array", "items": {"type": "string"}},
                    "consistency": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "documents", "items"],
        "properties": {
            "query": {"type": "string", "description": "the PostgreSQL prefix query the words became"},
            "documents": {
                "type": "array",
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "number": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"enum": list(get_args(Status))},
                        "decision_number": _NULLABLE_TEXT,
                    },
                },
            },
            "items": {
                "type": "array",
                "maxItems": 50,
                "items": {
                    "type": "object",
                    "properties": {
                        "session": {"type": "string"},
                        "item": {"type": "string"},
                        "number": {"type": "string"},
                        "title": {"type": "string"},
                        "draft": _NULLABLE_TEXT,
                    },
                },
            },
        },
    },
    "WebhookSubscribe": {
        "type": "object",
        "required": ["url", "event_types"],
        "properties": {
            "url": {"type": "string", "pattern": "^https?://", "maxLength": 2000},
            "event_types": {
                "type": "array",
                "minItems": 1,
                "items": {"enum": sorted(EVENT_TYPES)},
            },
        },
    },
    "Webhook": {
        "type": "object",
        "required": ["id", "url", "event_types", "active"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "event_types": {"type": "array", "items": {"type": "string"}},
            "active": {"type": "boolean", "description": "false once unsubscribed"},
        },
    },
    "WebhookSubscription": {
        "type": "object",
        "required": ["id", "url", "event_types", "secret"],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string"},
            "event_types": {"type": "array", "items": {"type": "string"}},
            "secret": {"type": "string", "pattern": "^whsec_", "description": "shown this once"},
        },
    },
    "Amendment": {
        "type": "object",
        "description": "An amendment to the draft's numbered lines (docs/api.md, Amendments)",
        "required": ["id", "number", "author", "reason", "changes", "status", "vote", "jointly", "conflicts_with"],
        "properties": {
            "id": {"type": "string"},
            "number": {"type": "integer", "minimum": 1},
            "author": {
                "type": "object",
                "description": "{kind: deputy, member} | {kind: mayor} | {kind: committee, name}",
            },
            "reason": {"type": "string"},
            "changes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["op"],
                    "properties": {
                        "op": {"enum": ["replace", "insert", "delete"]},
                        "from": {"type": "integer"},
                        "to": {"type": "integer"},
                        "after": {"type": "integer"},
                        "text": {"type": "string"},
                    },
                },
            },
            "status": {"enum": ["proposed", "withdrawn", "adopted", "rejected"]},
            "vote": _NULLABLE_TEXT,
            "jointly": {"type": "array", "items": {"type": "string"}, "description": "put to its vote together with"},
            "proposed_at": {"type": "string", "format": "date-time"},
            "conflicts_with": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "numbers of the standing amendments that change the same lines",
            },
        },
    },
    "TextVersion": {
        "type": "object",
        "required": ["version", "kind", "text"],
        "properties": {
            "version": {"type": "integer", "minimum": 1},
            "kind": {"enum": ["draft", "consolidated"]},
            "text": {"type": "string"},
            "amendments": {"type": "array", "items": {"type": "string"}},
            "diff": {
                "type": "array",
                "description": "the consolidated text against the draft, line by line",
                "items": {
                    "type": "object",
                    "required": ["op", "line", "text"],
                    "properties": {
                        "op": {"enum": ["same", "removed", "added"]},
                        "line": {"type": ["integer", "null"]},
                        "text": {"type": "string"},
                    },
                },
            },
        },
    },
    "WebhookDelivery": {
        "type": "object",
        "required": ["id", "event_type", "status", "attempts", "last_error"],
        "properties": {
            "id": {"type": "string", "description": "the webhook-id header, the same on every attempt"},
            "event_type": {"type": "string"},
            "status": {"enum": ["pending", "delivered", "parked"]},
            "attempts": {"type": "integer", "minimum": 0},
            "last_error": _NULLABLE_TEXT,
        },
    },
}


def _schemas() -> dict[str, Any]:
    schemas = component_schemas({"DocumentCommand": DOCUMENT_COMMAND_ADAPTER})
    # POST /documents takes document.register with `type` optional (it defaults to that command).
    register = copy.deepcopy(schemas[DocumentRegister.__name__])
    register["required"] = [f for f in register["required"] if f != "type"]
    register["description"] = "document.register; `type` may be left out. " + register["description"]
    schemas["RegisterDocument"] = register
    # The view of ``portal_bridge.api.public``: the state, with its history as objects.
    document = TypeAdapter(DocumentState).json_schema(mode="serialization", ref_template="#/components/schemas/{model}")
    schemas |= document.pop("$defs", {})
    document["properties"]["history"] = {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["type", "at"],
            "properties": {"type": {"type": "string"}, "at": {"type": "string", "format": "date-time"}},
        },
    }
    document["properties"]["digest"] = {
        **_NULLABLE_TEXT,
        "pattern": "^[0-9a-f]{64}$",
        "description": "once adopted: the SHA-256 (hex) the mayor signs (docs/ledger.md, Signed decisions)",
    }
    document["properties"]["signature"] = {"anyOf": [ref("DecisionSignature"), {"type": "null"}]}
    document["properties"]["amendments"] = {"type": "array", "items": ref("Amendment")}
    document["properties"]["adopted_amendments"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": "the amendments the decision was adopted with, in the order of their votes",
    }
    document["properties"]["versions"] = {"type": "array", "items": ref("TextVersion")}
    schemas.pop("AmendmentRecord", None)
    schemas.pop("Change", None)
    schemas["Document"] = document
    return schemas | _WRITTEN_SCHEMAS


@functools.cache
def description() -> OpenAPIPaths:
    """The schemas the portal's routes refer to in ``/api/v1/openapi.json`` (kept once: the models' schemas
    take a while); the routes themselves are described where they are written."""
    return OpenAPIPaths(paths={}, schemas=_schemas())
