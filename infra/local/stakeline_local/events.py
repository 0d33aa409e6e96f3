"""Fresh credentials for the sample events under events/.

Signed requests are only accepted within auth.SIGNATURE_WINDOW_SECONDS of their timestamp,
signed settlement queue messages within auth.QUEUE_SIGNATURE_MAX_AGE_SECONDS, and local tokens
expire, so a committed event must be re-signed before it is replayed against the local suite.
An API Gateway event's signature covers its method (``requestContext.http.method``), its raw
path (``rawPath``) and its body; an SQS record's covers ``SQS``, ``/settlement-queue`` and the
message body, and travels in its ``messageAttributes``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time
from datetime import datetime, timezone

from . import auth
from .template import functions

TOKEN_TTL_SECONDS = 3600


def integration_for_route(template: dict, route_key: str) -> str:
    """Which integration signs requests to ``route_key``, read off the function serving it."""
    method, _, path = route_key.partition(" ")
    for function in functions(template):
        if (method.upper(), path) in function.routes:
            names = {auth.SECRET_VARIABLES[v] for v in function.environment if v in auth.SECRET_VARIABLES}
            if len(names) == 1:
                return names.pop()
            raise ValueError(f"{function.logical_id} does not name exactly one integration secret; pass --secret")
    raise ValueError(f"no function in the template serves {route_key!r}; pass --secret")


def _header_key(headers: dict, name: str) -> str:
    """The key ``name`` already has in ``headers`` (any case), else its lower-case form."""
    for key in headers:
        if key.lower() == name.lower():
            return key
    return name.lower()


def raw_body(event: dict) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")


def request_line(event: dict) -> tuple[str, str]:
    """The method and raw path an API Gateway v2 event's signature covers."""
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method")
    if not method:
        method = event.get("routeKey", "").partition(" ")[0]
    path = event.get("rawPath")
    if not method or not path:
        raise ValueError("the event has no requestContext.http.method or rawPath to sign")
    return method.upper(), path


def _lambda_attributes(attributes: dict[str, dict[str, str]]) -> dict[str, dict]:
    """boto3 MessageAttributes (String only) as Lambda's SQS records carry them."""
    return {
        name: {"stringValue": value["StringValue"], "stringListValues": [], "binaryListValues": [],
               "dataType": value["DataType"]}
        for name, value in attributes.items()
    }


def md5_of_message_attributes(attributes: dict[str, dict]) -> str:
    """SQS's MD5OfMessageAttributes of a Lambda record's ``messageAttributes``: for each name in
    order, the name, the data type, a transport byte (1 string, 2 binary) and the value, each
    length-prefixed (4 bytes, big-endian) except the transport byte."""
    digest = hashlib.md5()

    def field(data: bytes) -> None:
        digest.update(struct.pack("!I", len(data)) + data)

    for name in sorted(attributes):
        value = attributes[name]
        field(name.encode("utf-8"))
        field(value["dataType"].encode("utf-8"))
        if "stringValue" in value:
            digest.update(b"\x01")
            field(value["stringValue"].encode("utf-8"))
        elif "binaryValue" in value:
            digest.update(b"\x02")
            field(base64.b64decode(value["binaryValue"]))
        else:
            raise ValueError(f"message attribute {name!r} has neither a string nor a binary value")
    return digest.hexdigest()


_SIGNATURE_NAMES = {auth.TIMESTAMP_HEADER.lower(), auth.SIGNATURE_HEADER.lower()}
# The record attributes that say when the message was sent, in epoch milliseconds.
_SENT_ATTRIBUTES = ("SentTimestamp", "ApproximateFirstReceiveTimestamp")


def _is_signed_record(record: dict) -> bool:
    return any(name.lower() in _SIGNATURE_NAMES for name in record.get("messageAttributes") or {})


def _with_attributes_md5(record: dict) -> dict:
    """``record`` with ``md5OfMessageAttributes`` recomputed, placed where Lambda (and the local
    poller) put it: right after ``messageAttributes``."""
    rebuilt = {}
    for key, value in record.items():
        if key != "md5OfMessageAttributes":
            rebuilt[key] = value
        if key == "messageAttributes":
            rebuilt["md5OfMessageAttributes"] = md5_of_message_attributes(value)
    return rebuilt


def resign_sqs_event(event: dict, *, timestamp: int | None = None, integration: str | None = None) -> dict:
    """Returns the SQS ``event`` with every signed record (every record, given ``integration``)
    signed at ``timestamp`` (now) in its ``messageAttributes``, its ``md5OfMessageAttributes``
    recomputed, and its SentTimestamp and ApproximateFirstReceiveTimestamp moved as far as its
    signature's timestamp."""
    stamp = int(time.time()) if timestamp is None else timestamp
    records = event.get("Records") or []
    touched = False
    for index, record in enumerate(records):
        if not (integration or _is_signed_record(record)):
            continue
        attributes = record.setdefault("messageAttributes", {})
        previous = next((value.get("stringValue") for name, value in attributes.items()
                         if name.lower() == auth.TIMESTAMP_HEADER.lower()), None)
        for name in [name for name in attributes if name.lower() in _SIGNATURE_NAMES]:
            del attributes[name]
        signed = auth.signed_message_attributes(
            record.get("body", ""), integration=integration or auth.QUEUE_INTEGRATION, timestamp=stamp
        )
        attributes.update(_lambda_attributes(signed))
        if previous is not None and previous.isdigit():
            moved = (stamp - int(previous)) * 1000
            sent = record.get("attributes") or {}
            for name in _SENT_ATTRIBUTES:
                if str(sent.get(name, "")).isdigit():
                    sent[name] = str(int(sent[name]) + moved)
        records[index] = _with_attributes_md5(record)
        touched = True
    if not touched:
        raise ValueError("no record of the SQS event carries a signature to refresh (--secret signs them all)")
    return event


def resign_event(
    event: dict,
    template: dict,
    *,
    timestamp: int | None = None,
    integration: str | None = None,
) -> dict:
    """Returns ``event`` with a signature and/or player token valid at ``timestamp`` (now).
    SQS events (``Records`` from ``aws:sqs``) are handed to ``resign_sqs_event``."""
    records = event.get("Records")
    if isinstance(records, list) and records and all(r.get("eventSource") == "aws:sqs" for r in records):
        return resign_sqs_event(event, timestamp=timestamp, integration=integration)
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = event.setdefault("headers", {})
    context = event.setdefault("requestContext", {})
    touched = False

    signed = any(
        key.lower() in (auth.TIMESTAMP_HEADER.lower(), auth.SIGNATURE_HEADER.lower()) for key in headers
    )
    if signed or integration:
        name = integration or integration_for_route(template, event.get("routeKey", ""))
        method, path = request_line(event)
        fresh = auth.signed_headers(raw_body(event), method=method, path=path, integration=name, timestamp=stamp)
        for header, value in fresh.items():
            headers[_header_key(headers, header)] = value
        touched = True

    authorization = _header_key(headers, "Authorization")
    if str(headers.get(authorization, "")).startswith("Bearer "):
        claims = context.get("authorizer", {}).get("jwt", {}).get("claims", {})
        player_id = claims.get("sub") or (event.get("pathParameters") or {}).get("player_id")
        if not player_id:
            raise ValueError("the event has a bearer token but no sub claim or player_id to mint one for")
        token = auth.mint_token(player_id, ttl=TOKEN_TTL_SECONDS, now=stamp, scope=claims.get("scope"))
        headers[authorization] = f"Bearer {token}"
        if "iat" in claims:
            claims["iat"] = str(stamp)
        if "exp" in claims:
            claims["exp"] = str(stamp + TOKEN_TTL_SECONDS)
        touched = True

    if not touched:
        raise ValueError("the event carries neither a signature nor a bearer token to refresh")
    moment = datetime.fromtimestamp(stamp, tz=timezone.utc)
    context["timeEpoch"] = stamp * 1000
    context["time"] = moment.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return event
