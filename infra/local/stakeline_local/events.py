"""Fresh credentials for the sample API Gateway events under events/.

Signed requests are only accepted within auth.SIGNATURE_WINDOW_SECONDS of their timestamp and
local tokens expire, so a committed event must be re-signed before it is replayed against
the local suite.
"""

from __future__ import annotations

import base64
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


def resign_event(
    event: dict,
    template: dict,
    *,
    timestamp: int | None = None,
    integration: str | None = None,
) -> dict:
    """Returns ``event`` with a signature and/or player token valid at ``timestamp`` (now)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = event.setdefault("headers", {})
    context = event.setdefault("requestContext", {})
    touched = False

    signed = any(
        key.lower() in (auth.TIMESTAMP_HEADER.lower(), auth.SIGNATURE_HEADER.lower()) for key in headers
    )
    if signed or integration:
        name = integration or integration_for_route(template, event.get("routeKey", ""))
        for header, value in auth.signed_headers(raw_body(event), integration=name, timestamp=stamp).items():
            headers[_header_key(headers, header)] = value
        touched = True

    authorization = _header_key(headers, "Authorization")
    if str(headers.get(authorization, "")).startswith("Bearer "):
        claims = context.get("authorizer", {}).get("jwt", {}).get("claims", {})
        player_id = claims.get("sub") or (event.get("pathParameters") or {}).get("player_id")
        if not player_id:
            raise ValueError("the event has a bearer token but no sub claim or player_id to mint one for")
        headers[authorization] = f"Bearer {auth.mint_token(player_id, ttl=TOKEN_TTL_SECONDS, now=stamp)}"
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
