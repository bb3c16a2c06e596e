"""Request and response bodies of the queue API (pydantic), and the contract schema for OpenAPI."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from pipelines import queue

CONTRACT_SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "queue-item-1.schema.json"

# Ranges of the numeric fields, for error messages that name the allowed range.
BOUNDS = {
    "max": (1, queue.MAX_CLAIM),
    "lease_seconds": (1, queue.MAX_LEASE_SECONDS),
    "delay_seconds": (0, queue.MAX_DELAY_SECONDS),
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@lru_cache(maxsize=1)
def contract_schema() -> dict[str, Any]:
    """The queue-item JSON Schema with its local $refs inlined (OpenAPI resolves '#/' from the
    document root, so the file's '#/$defs/...' cannot be embedded as is)."""
    schema = json.loads(CONTRACT_SCHEMA.read_text(encoding="utf-8"))
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return _inline(schema, defs)


QueueItem = Annotated[dict[str, Any], WithJsonSchema(contract_schema())]


def _integral_float_to_int(value: Any) -> Any:
    """209.0 is an integer to JSON Schema (and so to the OpenAPI description): take it as 209.
    Everything else goes on to the strict check (2.5, "10", true and 1e400 are still refused)."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# A whole number: a JSON integer, or a number with a zero fraction; never a string or a boolean.
WholeNumber = Annotated[int, BeforeValidator(_integral_float_to_int)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ClaimRequest(_Strict):
    max: WholeNumber = Field(queue.DEFAULT_CLAIM, ge=1, le=queue.MAX_CLAIM,
                     description="most items to lease in this call")
    lease_seconds: WholeNumber = Field(queue.DEFAULT_LEASE_SECONDS, ge=1, le=queue.MAX_LEASE_SECONDS,
                               description="how long the items stay yours; unacked items then "
                               "return to the queue")


class ClaimedItem(BaseModel):
    delivery_id: str = Field(description="ack or nack the item with this id")
    lease_until: str = Field(description="UTC time the lease ends (ISO-8601, Z)")
    item: QueueItem


class ClaimResponse(BaseModel):
    items: list[ClaimedItem] = Field(description="highest priority first; empty when nothing is due")


class AckResponse(BaseModel):
    delivery_id: str
    status: str = Field("acked", description="always 'acked'")
    already_acked: bool = Field(description="true when this delivery had been acked before: "
                                "a repeated ack changes nothing")


class NackRequest(_Strict):
    delay_seconds: WholeNumber = Field(0, ge=0, le=queue.MAX_DELAY_SECONDS,
                               description="wait this long before delivering the item again")
    error: str | None = Field(None, max_length=queue.MAX_ERROR_CHARS,
                              description="why (shown to operators; no personal data, please)")


class NackResponse(BaseModel):
    delivery_id: str
    status: str = Field(description="'ready' (delivered again from available_at) or 'dead' "
                        "(out of attempts; an operator must requeue it)")
    available_at: str | None = Field(description="UTC time of the next delivery, when ready")


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable: invalid_json, invalid_request, unauthorized, "
                      "invalid_token, not_found, method_not_allowed, lease_expired, "
                      "already_settled, unavailable, internal_error")
    message: str = Field(description="what is wrong, for people")
    fields: list[dict[str, str]] | None = Field(
        None, description="for invalid_request: each offending field and what is wrong with it")


class ErrorResponse(BaseModel):
    error: ErrorDetail
