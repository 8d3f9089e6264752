"""The OpenAPI description of the portal's routes under ``/api/v1``: decisions, their files, search, webhooks.

Request bodies come from the models that validate them (``portal_bridge.document_commands``); the
webhook subscription is checked by hand in ``portal_bridge.webhooks``, so its schema is written here
from the same list of event types.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, get_args

from pydantic import TypeAdapter

from portal_bridge.decisions import MAX_FILE
from portal_bridge.document_commands import DOCUMENT_COMMAND_ADAPTER, DocumentRegister
from portal_bridge.documents import DocumentState, Status
from portal_bridge.webhooks import EVENT_TYPES
from session_server.http.openapi import (
    BEARER,
    OpenAPIPaths,
    component_schemas,
    errors,
    json_content,
    path_parameter,
    ref,
)

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
    schemas["Document"] = document
    return schemas | _WRITTEN_SCHEMAS


def _result(extra: str, description: str) -> dict[str, Any]:
    """``{"seq", "events"}`` with one more field."""
    return {
        "allOf": [
            ref("CommandResult"),
            {
                "type": "object",
                "required": [extra],
                "properties": {extra: {"type": "string", "description": description}},
            },
        ]
    }


def _document_paths() -> dict[str, Any]:
    document = path_parameter("document", "the document's id")
    registered = json_content(_result("document", "the document's id"))
    attached = json_content(_result("sha256", "the file's SHA-256, where GET /files/{sha256} serves it"))
    return {
        "/documents": {
            "get": {
                "summary": "Every registered document (the read model), newest registry number first",
                "responses": {
                    "200": {
                        "description": "OK",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["documents"],
                                "properties": {"documents": {"type": "array", "items": ref("DocumentSummary")}},
                            }
                        ),
                    }
                },
            },
            "post": {
                "summary": "Register a draft decision (secretary, admin). Repeating an id replays.",
                "security": BEARER,
                "requestBody": json_content(ref("RegisterDocument")),
                "responses": {
                    "201": {"description": "Registered", **registered},
                    "200": {"description": "A repeated command id: its first result", **registered},
                    **errors(
                        400,
                        401,
                        403,
                        404,
                        409,
                        413,
                        reasons={
                            400: "Malformed JSON, unknown field, wrong type, or a type other than document.register",
                            404: "No council yet",
                            409: "The document exists, or the command id was used by another user",
                        },
                    ),
                },
            },
        },
        "/documents/overdue": {
            "get": {
                "summary": "Signed or published decisions whose execution deadline passed without a done report",
                "responses": {
                    "200": {
                        "description": "Earliest deadline first",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["overdue"],
                                "properties": {"overdue": {"type": "array", "items": ref("Document")}},
                            }
                        ),
                    }
                },
            }
        },
        "/documents/{document}": {
            "get": {
                "summary": "A document's state, history and attachments",
                "parameters": [document],
                "responses": {
                    "200": {"description": "OK", **json_content(ref("Document"))},
                    **errors(404, reasons={404: "No such document"}),
                },
            }
        },
        "/documents/{document}/commands": {
            "post": {
                "summary": "Run a document command (who may depends on the command); answered after its events "
                "are committed. Repeating an id replays.",
                "security": BEARER,
                "parameters": [document],
                "requestBody": json_content(ref("DocumentCommand")),
                "responses": {
                    "200": {"description": "Committed", **json_content(ref("CommandResult"))},
                    **errors(
                        400,
                        401,
                        403,
                        404,
                        409,
                        413,
                        reasons={
                            403: "The caller may not run this command, or the mayor's signature does not verify "
                            "(signature_invalid; on the device: unknown_credential, credential_not_yours, "
                            "credential_revoked, challenge_mismatch, origin_mismatch, rp_id_mismatch, "
                            "user_not_verified)",
                            404: "No such document, or no council yet",
                            409: "The document's state or the law refuses the command",
                        },
                    ),
                },
            }
        },
        "/documents/{document}/export": {
            "get": {
                "summary": "The decision's events and the council's ledger with signed checkpoints: the file "
                "`kvorum verify` checks the mayor's signature in",
                "parameters": [document],
                "responses": {
                    "200": {"description": "A kvorum-decision-v1 file", **json_content(ref("DecisionExport"))},
                    **errors(404, reasons={404: "No such document, or no council yet"}),
                },
            }
        },
        "/documents/{document}/attachments": {
            "post": {
                "summary": "Upload a PDF for the draft (secretary, admin): stored by its SHA-256, then draft.attached",
                "security": BEARER,
                "parameters": [
                    document,
                    {
                        "name": "name",
                        "in": "query",
                        "required": True,
                        "description": "the file's name",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "description": f"The PDF file, at most {MAX_FILE // 2**20} MiB",
                    "content": {"application/pdf": {}},
                },
                "responses": {
                    "201": {"description": "Stored and attached", **attached},
                    "200": {"description": "The same file was attached before: its first result", **attached},
                    **errors(
                        400,
                        401,
                        403,
                        404,
                        409,
                        413,
                        415,
                        reasons={
                            400: "No name, or the body is not a PDF file",
                            404: "No such document",
                            409: "The draft is already published",
                            413: f"Body over {MAX_FILE // 2**20} MiB",
                            415: "Content-Type is not application/pdf",
                        },
                    ),
                },
            }
        },
        "/files/{sha256}": {
            "get": {
                "summary": "A stored file by its SHA-256 (immutable: cached for a year)",
                "parameters": [
                    path_parameter(
                        "sha256", "the file's SHA-256, lower-case hex", {"type": "string", "pattern": "^[0-9a-f]{64}$"}
                    )
                ],
                "responses": {
                    "200": {
                        "description": "The file, with ETag and Cache-Control: immutable",
                        "content": {"application/pdf": {}},
                    },
                    **errors(
                        400,
                        404,
                        reasons={400: "Not a lower-case hex SHA-256", 404: "No such file"},
                    ),
                },
            }
        },
        "/search": {
            "get": {
                "summary": "Decisions and agenda items whose words begin with every word of q, best first",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "description": "words (prefixes) to find; apostrophes are ignored, hyphens split words",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {"description": "At most 50 of each", **json_content(ref("SearchResults"))},
                    **errors(400, reasons={400: "q holds no word"}),
                },
            }
        },
    }


def _webhook_paths() -> dict[str, Any]:
    admin = {403: "Webhooks are managed by an administrator"}
    subscription = path_parameter("subscription", "the subscription's id", {"type": "integer"})
    return {
        "/webhooks": {
            "post": {
                "summary": "Subscribe a URL to vote and decision events (admin); the secret is shown once",
                "security": BEARER,
                "requestBody": json_content(ref("WebhookSubscribe")),
                "responses": {
                    "201": {"description": "Subscribed", **json_content(ref("WebhookSubscription"))},
                    **errors(
                        400,
                        401,
                        403,
                        413,
                        reasons={400: "Malformed JSON, a url that is not http(s), or unknown event types", **admin},
                    ),
                },
            },
            "get": {
                "summary": "Every subscription, without its secret (admin)",
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "OK",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["webhooks"],
                                "properties": {"webhooks": {"type": "array", "items": ref("Webhook")}},
                            }
                        ),
                    },
                    **errors(401, 403, reasons=admin),
                },
            },
        },
        "/webhooks/{subscription}": {
            "delete": {
                "summary": "Stop a subscription (admin); its deliveries stay for the record",
                "security": BEARER,
                "parameters": [subscription],
                "responses": {
                    "204": {"description": "Stopped"},
                    **errors(401, 403, 404, reasons={**admin, 404: "No such subscription"}),
                },
            }
        },
        "/webhooks/{subscription}/deliveries": {
            "get": {
                "summary": "A subscription's deliveries, newest first, at most 500 (admin); none for an unknown id",
                "security": BEARER,
                "parameters": [subscription],
                "responses": {
                    "404": {"description": "An id no subscription can have", **json_content(ref("Error"))},
                    "200": {
                        "description": "OK",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["deliveries"],
                                "properties": {"deliveries": {"type": "array", "items": ref("WebhookDelivery")}},
                            }
                        ),
                    },
                    **errors(401, 403, reasons=admin),
                },
            }
        },
        "/webhooks/deliveries/{delivery}/redeliver": {
            "post": {
                "summary": "Send a parked (or delivered) delivery again, with the same id and body (admin)",
                "security": BEARER,
                "parameters": [path_parameter("delivery", "the delivery's id (msg_…)")],
                "responses": {
                    "200": {
                        "description": "Pending again",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["id", "status"],
                                "properties": {"id": {"type": "string"}, "status": {"const": "pending"}},
                            }
                        ),
                    },
                    **errors(401, 403, 404, reasons={**admin, 404: "No such delivery"}),
                },
            }
        },
    }


@functools.cache
def _consumer_paths() -> dict[str, Any]:
    admin = {403: "The consumers are looked after by an administrator"}
    fault = {
        "type": "object",
        "required": ["consumer", "stream", "seq", "type", "attempts", "error", "failed_at"],
        "properties": {
            "consumer": {"type": "string"},
            "stream": {"type": "string"},
            "seq": {"type": "integer"},
            "type": {"type": "string", "description": "the event's type"},
            "attempts": {"type": "integer"},
            "error": {"type": "string", "description": "the last failure, for the administrator"},
            "failed_at": {"type": "string", "format": "date-time"},
            "retry_at": {"type": "string", "format": "date-time", "description": "failing ones: the next attempt"},
        },
    }
    return {
        "/consumers": {
            "get": {
                "summary": "The log's consumers: events behind, failing and parked, and every failing or parked event",
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "OK",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["consumers", "failing", "parked"],
                                "properties": {
                                    "consumers": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["name", "behind", "failing", "parked"],
                                            "properties": {
                                                "name": {"type": "string"},
                                                "behind": {"type": "integer"},
                                                "failing": {"type": "integer"},
                                                "parked": {"type": "integer"},
                                            },
                                        },
                                    },
                                    "failing": {"type": "array", "items": fault},
                                    "parked": {"type": "array", "items": fault},
                                },
                            }
                        ),
                    },
                    **errors(401, 403, reasons=admin),
                },
            }
        },
        "/consumers/{consumer}/parked/{stream}/{seq}/retry": {
            "post": {
                "summary": "Handle a parked event again, after a fix (admin)",
                "security": BEARER,
                "parameters": [
                    path_parameter("consumer", "the consumer's name"),
                    path_parameter("stream", "the stream (session:…, document:…)"),
                    path_parameter("seq", "the event's seq", {"type": "integer"}),
                ],
                "responses": {
                    "200": {
                        "description": "Handled: no longer parked",
                        **json_content(
                            {
                                "type": "object",
                                "required": ["consumer", "stream", "seq", "status"],
                                "properties": {
                                    "consumer": {"type": "string"},
                                    "stream": {"type": "string"},
                                    "seq": {"type": "integer"},
                                    "status": {"const": "handled"},
                                },
                            }
                        ),
                    },
                    **errors(
                        401,
                        403,
                        404,
                        409,
                        reasons={**admin, 404: "No such parked event", 409: "It failed again (still_failing)"},
                    ),
                },
            }
        },
    }


def description() -> OpenAPIPaths:
    """The portal's part of ``/api/v1/openapi.json`` (kept once: the models' schemas take a while)."""
    return OpenAPIPaths(paths=_document_paths() | _webhook_paths() | _consumer_paths(), schemas=_schemas())
