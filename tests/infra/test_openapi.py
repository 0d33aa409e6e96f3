"""Checks that openapi.yaml is a valid OpenAPI 3.1 document that describes the v1 contract.

Standalone: needs only pytest, PyYAML, jsonschema/referencing and openapi-spec-validator.
A few checks read the Rust sources as text (the views and request structs, enums, reference
tables, error titles) so that the spec cannot drift from the code that serves it; nothing is
compiled.
Run from the repository root:  .venv/bin/python -m pytest tests/infra/test_openapi.py
"""

import copy
import json
import re
import tomllib
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO / "openapi.yaml"
CARGO_TOML = REPO / "Cargo.toml"
SPEC_URI = "urn:stakeline:openapi"

# The stable error codes of the contract and their HTTP status.
ERROR_CODES = {
    "VALIDATION_FAILED": 422,
    "UNDERAGE": 422,
    "EMAIL_TAKEN": 409,
    "PLAYER_EXISTS": 409,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "PLAYER_NOT_FOUND": 404,
    "PLAYER_BLOCKED": 403,
    "CURRENCY_MISMATCH": 422,
    "INSUFFICIENT_FUNDS": 422,
    "DEPOSIT_LIMIT_REACHED": 422,
    "STAKE_LIMIT_EXCEEDED": 422,
    "DUPLICATE_TRANSACTION": 409,
    "BET_NOT_FOUND": 404,
    "BET_ALREADY_SETTLED": 409,
    "BET_ROLLED_BACK": 409,
    "WITHDRAWAL_NOT_FOUND": 404,
    "WITHDRAWAL_NOT_PENDING": 409,
    "WITHDRAWAL_ALREADY_FINAL": 409,
    "QUEUE_NOT_FOUND": 404,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}

PLAYER = [{"playerJwt"}]
PROVIDER = [{"providerTimestamp", "providerSignature"}]
AGGREGATOR = [{"aggregatorTimestamp", "aggregatorSignature"}]
OPERATOR = [{"operatorJwt"}]

# (method, path) -> function, served in this release, security requirements (alternatives).
ROUTES = {
    ("POST", "/players"): ("register", True, PLAYER),
    ("PUT", "/players/{player_id}/limits"): ("register", True, PLAYER),
    ("POST", "/players/{player_id}/exclusions"): ("register", True, PLAYER),
    ("POST", "/players/{player_id}/bonus/forfeit"): ("register", True, PLAYER),
    ("GET", "/players/{player_id}/wallet"): ("wallet-read", True, PLAYER),
    ("GET", "/players/{player_id}/transactions"): ("wallet-read", True, PLAYER),
    ("POST", "/players/{player_id}/deposits"): ("deposit", True, PROVIDER),
    ("POST", "/players/{player_id}/bets"): ("place-bet", True, AGGREGATOR),
    ("GET", "/players/{player_id}/bets/{bet_id}"): ("wallet-read", True, PLAYER + AGGREGATOR),
    ("POST", "/players/{player_id}/bets/{bet_id}/settlement"): ("settle", True, AGGREGATOR),
    ("POST", "/players/{player_id}/withdrawals"): ("withdraw", True, PLAYER),
    ("GET", "/players/{player_id}/withdrawals/{withdrawal_id}"): ("wallet-read", True, PLAYER),
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"): ("withdraw", True, PLAYER),
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/result"): ("withdraw", True, PROVIDER),
    ("GET", "/ops/withdrawals"): ("ops", True, OPERATOR),
    ("POST", "/ops/withdrawals/{withdrawal_id}/decision"): ("ops", True, OPERATOR),
    ("GET", "/ops/players/{player_id}"): ("ops", True, OPERATOR),
    ("PUT", "/ops/players/{player_id}/status"): ("ops", True, OPERATOR),
    ("GET", "/ops/players"): ("ops", True, OPERATOR),
    ("GET", "/ops/players/{player_id}/transactions"): ("ops", True, OPERATOR),
    ("GET", "/ops/players/{player_id}/bets"): ("ops", True, OPERATOR),
    ("GET", "/ops/players/{player_id}/withdrawals"): ("ops", True, OPERATOR),
    ("POST", "/ops/audit"): ("ops", True, OPERATOR),
    ("GET", "/ops/queues"): ("ops", True, OPERATOR),
    ("POST", "/ops/queues/{queue}/redrive"): ("ops", True, OPERATOR),
}

# Routes that move money: their errors carry the wallet when the player exists (except 401).
MONEY_ROUTES = {
    ("POST", "/players/{player_id}/deposits"),
    ("POST", "/players/{player_id}/bets"),
    ("POST", "/players/{player_id}/bets/{bet_id}/settlement"),
    ("POST", "/players/{player_id}/withdrawals"),
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"),
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/result"),
    # Its errors carry the withdrawal's player's wallet once that player is known.
    ("POST", "/ops/withdrawals/{withdrawal_id}/decision"),
}

# Errors of a money route that no player is known for.
NO_PLAYER_KNOWN = {(("POST", "/ops/withdrawals/{withdrawal_id}/decision"), "WITHDRAWAL_NOT_FOUND")}

SUCCESS = {
    ("POST", "/players"): {"201", "200"},
    ("PUT", "/players/{player_id}/limits"): {"200"},
    ("POST", "/players/{player_id}/exclusions"): {"201"},
    ("POST", "/players/{player_id}/bonus/forfeit"): {"200"},
    ("GET", "/players/{player_id}/wallet"): {"200"},
    ("GET", "/players/{player_id}/transactions"): {"200"},
    ("POST", "/players/{player_id}/deposits"): {"201", "200"},
    ("POST", "/players/{player_id}/bets"): {"201", "200"},
    ("GET", "/players/{player_id}/bets/{bet_id}"): {"200"},
    ("POST", "/players/{player_id}/bets/{bet_id}/settlement"): {"201", "200"},
    ("POST", "/players/{player_id}/withdrawals"): {"201", "200"},
    ("GET", "/players/{player_id}/withdrawals/{withdrawal_id}"): {"200"},
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"): {"200"},
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/result"): {"200"},
    ("GET", "/ops/withdrawals"): {"200"},
    ("POST", "/ops/withdrawals/{withdrawal_id}/decision"): {"200"},
    ("GET", "/ops/players/{player_id}"): {"200"},
    ("PUT", "/ops/players/{player_id}/status"): {"200"},
    ("GET", "/ops/players"): {"200"},
    ("GET", "/ops/players/{player_id}/transactions"): {"200"},
    ("GET", "/ops/players/{player_id}/bets"): {"200"},
    ("GET", "/ops/players/{player_id}/withdrawals"): {"200"},
    ("POST", "/ops/audit"): {"200"},
    ("GET", "/ops/queues"): {"200"},
    ("POST", "/ops/queues/{queue}/redrive"): {"200"},
}

_PLAYER_ERRORS = {
    "401": {"UNAUTHENTICATED"},
    "403": {"FORBIDDEN"},
    "404": {"PLAYER_NOT_FOUND"},
    "422": {"VALIDATION_FAILED"},
    "500": {"INTERNAL"},
    "503": {"UNAVAILABLE"},
}
ERRORS = {
    ("POST", "/players"): {
        "401": {"UNAUTHENTICATED"},
        "403": {"FORBIDDEN"},
        "409": {"EMAIL_TAKEN", "PLAYER_EXISTS"},
        "422": {"VALIDATION_FAILED", "UNDERAGE"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    ("PUT", "/players/{player_id}/limits"): _PLAYER_ERRORS,
    ("POST", "/players/{player_id}/exclusions"): _PLAYER_ERRORS,
    # Moves bonus money, but the player's route: errors carry no wallet (the 200 does).
    ("POST", "/players/{player_id}/bonus/forfeit"): _PLAYER_ERRORS,
    # Any query parameter on GET .../wallet is 422 VALIDATION_FAILED naming it.
    ("GET", "/players/{player_id}/wallet"): _PLAYER_ERRORS,
    ("GET", "/players/{player_id}/transactions"): _PLAYER_ERRORS,
    ("POST", "/players/{player_id}/deposits"): {
        "401": {"UNAUTHENTICATED"},
        "403": {"PLAYER_BLOCKED"},
        "404": {"PLAYER_NOT_FOUND"},
        "409": {"DUPLICATE_TRANSACTION"},
        "422": {"VALIDATION_FAILED", "CURRENCY_MISMATCH", "DEPOSIT_LIMIT_REACHED"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    ("POST", "/players/{player_id}/bets"): {
        "401": {"UNAUTHENTICATED"},
        "403": {"PLAYER_BLOCKED"},
        "404": {"PLAYER_NOT_FOUND"},
        "409": {"DUPLICATE_TRANSACTION", "BET_ROLLED_BACK"},
        "422": {"VALIDATION_FAILED", "CURRENCY_MISMATCH", "INSUFFICIENT_FUNDS", "STAKE_LIMIT_EXCEEDED"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    # PLAYER_NOT_FOUND only for a {player_id} without the id form: the account is never read,
    # so a player without one has no bets (BET_NOT_FOUND). Any query parameter is 422.
    ("GET", "/players/{player_id}/bets/{bet_id}"): {
        "401": {"UNAUTHENTICATED"},
        "403": {"FORBIDDEN"},
        "404": {"PLAYER_NOT_FOUND", "BET_NOT_FOUND"},
        "422": {"VALIDATION_FAILED"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    ("POST", "/players/{player_id}/bets/{bet_id}/settlement"): {
        "401": {"UNAUTHENTICATED"},
        "404": {"PLAYER_NOT_FOUND", "BET_NOT_FOUND"},
        "409": {"DUPLICATE_TRANSACTION", "BET_ALREADY_SETTLED", "BET_ROLLED_BACK"},
        "422": {"VALIDATION_FAILED"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    ("POST", "/players/{player_id}/withdrawals"): {
        "401": {"UNAUTHENTICATED"},
        "403": {"FORBIDDEN", "PLAYER_BLOCKED"},
        "404": {"PLAYER_NOT_FOUND"},
        "409": {"DUPLICATE_TRANSACTION"},
        "422": {"VALIDATION_FAILED", "CURRENCY_MISMATCH", "INSUFFICIENT_FUNDS"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    ("GET", "/players/{player_id}/withdrawals/{withdrawal_id}"): {
        **_PLAYER_ERRORS,
        "404": {"PLAYER_NOT_FOUND", "WITHDRAWAL_NOT_FOUND"},
    },
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"): {
        **_PLAYER_ERRORS,
        "404": {"PLAYER_NOT_FOUND", "WITHDRAWAL_NOT_FOUND"},
        "409": {"WITHDRAWAL_NOT_PENDING"},
    },
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/result"): {
        "401": {"UNAUTHENTICATED"},
        "404": {"PLAYER_NOT_FOUND", "WITHDRAWAL_NOT_FOUND"},
        "409": {"WITHDRAWAL_ALREADY_FINAL"},
        "422": {"VALIDATION_FAILED"},
        "500": {"INTERNAL"},
        "503": {"UNAVAILABLE"},
    },
    # Operator routes: a player's token is 403 FORBIDDEN.
    ("GET", "/ops/withdrawals"): {k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
    ("POST", "/ops/withdrawals/{withdrawal_id}/decision"): {
        **{k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
        "404": {"WITHDRAWAL_NOT_FOUND"},
        "409": {"WITHDRAWAL_NOT_PENDING"},
    },
    ("GET", "/ops/players/{player_id}"): _PLAYER_ERRORS,
    ("PUT", "/ops/players/{player_id}/status"): _PLAYER_ERRORS,
    ("GET", "/ops/players"): {k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
    ("GET", "/ops/players/{player_id}/transactions"): _PLAYER_ERRORS,
    ("GET", "/ops/players/{player_id}/bets"): _PLAYER_ERRORS,
    ("GET", "/ops/players/{player_id}/withdrawals"): _PLAYER_ERRORS,
    ("POST", "/ops/audit"): {k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
    ("GET", "/ops/queues"): {k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
    ("POST", "/ops/queues/{queue}/redrive"): {
        **{k: v for k, v in _PLAYER_ERRORS.items() if k != "404"},
        "404": {"QUEUE_NOT_FOUND"},
    },
}

# Routes whose body may be left out (an empty body is the same as `{}`).
OPTIONAL_BODY = {
    ("POST", "/players/{player_id}/bonus/forfeit"),
    ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"),
    ("POST", "/ops/audit"),
}

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

WALLET = {
    "player_id": "p-1",
    "currency": "EUR",
    "cash": 100,
    "bonus": 0,
    "wagering_remaining": 0,
    "pending_withdrawal": 0,
    "updated_at": "2026-11-23T07:04:51.123Z",
}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        keys.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)

SPEC = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=_StrictLoader)
REGISTRY = Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(SPEC))


def _titles_in_spec():
    """`code -> title` from the table in the ErrorCode schema's description."""
    rows = re.findall(
        r"^\| `([A-Z_]+)` \| (\d{3}) \| ([^|]+?) \|$",
        SPEC["components"]["schemas"]["ErrorCode"]["description"],
        re.M,
    )
    return {code: (int(status), title) for code, status, title in rows}


TITLES = _titles_in_spec()


def _escape(segment):
    return str(segment).replace("~", "~0").replace("/", "~1")


def _pointer(*segments):
    return "".join("/" + _escape(s) for s in segments)


def _get(pointer):
    node = SPEC
    for raw in pointer.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _deref(pointer, node):
    """Follow local $refs; return (pointer, node) of the target."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"{pointer}: only local references are expected, got {ref}"
        assert ref not in seen, f"{pointer}: reference cycle at {ref}"
        seen.add(ref)
        pointer, node = ref[1:], _get(ref[1:])
    return pointer, node


def _validator(schema_pointer):
    return Draft202012Validator(
        {"$ref": SPEC_URI + "#" + quote(schema_pointer, safe="/~")},
        registry=REGISTRY,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _operations():
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield (method.upper(), path), _pointer("paths", path, method), op


def _responses(op_pointer, op):
    """(status, pointer, response) for each response of an operation, references resolved."""
    for status, response in op["responses"].items():
        pointer, resolved = _deref(_pointer_join(op_pointer, "responses", status), response)
        yield str(status), pointer, resolved


def _pointer_join(base, *segments):
    return base + _pointer(*segments)


def _media(owner_pointer, owner):
    for media_type, media in owner.get("content", {}).items():
        yield media_type, _pointer_join(owner_pointer, "content", media_type), media


def _examples(media_pointer, media):
    if "example" in media:
        yield "example", media["example"]
    for name, example in media.get("examples", {}).items():
        _, resolved = _deref(_pointer_join(media_pointer, "examples", name), example)
        assert "value" in resolved, f"{media_pointer} example {name} has no value"
        yield name, resolved["value"]


def _declared_codes(schema_pointer):
    """Error codes an error response allows: the union of `code.enum` restrictions."""
    pointer, schema = _deref(schema_pointer, _get(schema_pointer))
    codes = set()
    for i, part in enumerate(schema.get("allOf", [])):
        _, part = _deref(_pointer_join(pointer, "allOf", i), part)
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum:
            codes |= set(enum)
    return codes


def _problem(code, **extra):
    problem = {
        "type": "urn:stakeline:problem:" + code.lower().replace("_", "-"),
        "title": "t",
        "status": ERROR_CODES[code],
        "code": code,
        "detail": "d",
        "instance": "/players/p-1",
    }
    if code == "VALIDATION_FAILED":
        problem["errors"] = [{"field": "/amount", "message": "m"}]
    return {**problem, **extra}


# --------------------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1():
    assert SPEC["openapi"] == "3.1.0"
    validate_openapi(copy.deepcopy(SPEC), base_uri=SPEC_PATH.as_uri())
    # Plain JSON data only: an unquoted date in YAML would load as a date object.
    json.dumps(SPEC)


def test_routes_are_exactly_the_contract():
    assert {key for key, _, _ in _operations()} == set(ROUTES)


def test_error_code_enum_is_exactly_the_stable_codes():
    enum = SPEC["components"]["schemas"]["ErrorCode"]["enum"]
    assert len(enum) == len(set(enum)), "duplicate codes in ErrorCode"
    missing = set(ERROR_CODES) - set(enum)
    assert not missing, f"ErrorCode lacks stable codes: {sorted(missing)}"
    extra = set(enum) - set(ERROR_CODES)
    assert not extra, f"ErrorCode has codes the contract does not define: {sorted(extra)}"


def test_problem_schema_has_the_required_members():
    problem = SPEC["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "detail", "instance"} <= set(problem["required"])
    assert problem["properties"]["code"] == {"$ref": "#/components/schemas/ErrorCode"}
    for code in ERROR_CODES:
        assert not list(_validator("/components/schemas/Problem").iter_errors(_problem(code)))


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_operation_declares_the_security_it_needs(route):
    ops = {key: op for key, _, op in _operations()}
    op = ops[route]
    assert "security" in op, f"{route} must declare its own security"
    declared = [set(requirement) for requirement in op["security"]]
    for requirement in op["security"]:
        assert all(scopes == [] for scopes in requirement.values())
    expected = ROUTES[route][2]
    assert sorted(map(sorted, declared)) == sorted(map(sorted, expected))


def test_security_schemes():
    schemes = SPEC["components"]["securitySchemes"]
    assert schemes["playerJwt"] == {**schemes["playerJwt"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for who in ("provider", "aggregator"):
        for part, header in (("Timestamp", "X-Stakeline-Timestamp"), ("Signature", "X-Stakeline-Signature")):
            scheme = schemes[who + part]
            assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", header)
    used = {name for _, _, op in _operations() for req in op["security"] for name in req}
    assert used == set(schemes), "every scheme is used and every used scheme is defined"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_operation_function_and_release(route):
    ops = {key: op for key, _, op in _operations()}
    op = ops[route]
    function, served, _ = ROUTES[route]
    assert op.get("x-stakeline-function") == function
    assert op.get("x-stakeline-served") is served


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_operation_responses_and_error_codes(route):
    ops = {key: (pointer, op) for key, pointer, op in _operations()}
    op_pointer, op = ops[route]
    statuses = set(op["responses"])
    assert statuses == SUCCESS[route] | set(ERRORS[route]), f"{route} responses"
    for status, pointer, response in _responses(op_pointer, op):
        assert "Cache-Control" in response.get("headers", {}), f"{route} {status}: Cache-Control"
        media = dict((mt, (mp, m)) for mt, mp, m in _media(pointer, response))
        if int(status) < 400:
            assert set(media) == {"application/json"}, f"{route} {status}"
            continue
        assert set(media) == {"application/problem+json"}, f"{route} {status}"
        media_pointer, _ = media["application/problem+json"]
        codes = _declared_codes(media_pointer + "/schema")
        assert codes == ERRORS[route][status], f"{route} {status}: codes"
        for code in codes:
            assert ERROR_CODES[code] == int(status), f"{code} is not a {status}"
            assert not list(_validator(media_pointer + "/schema").iter_errors(_problem(code)))
        other = next(c for c, s in ERROR_CODES.items() if s != int(status))
        assert list(_validator(media_pointer + "/schema").iter_errors(_problem(other)))


def test_every_stable_code_is_used_by_some_operation():
    used = {code for errors in ERRORS.values() for codes in errors.values() for code in codes}
    assert used == set(ERROR_CODES)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
def test_wallet_in_errors_only_on_money_routes(route):
    ops = {key: (pointer, op) for key, pointer, op in _operations()}
    op_pointer, op = ops[route]
    for status, pointer, response in _responses(op_pointer, op):
        if int(status) < 400:
            continue
        schema_pointer = pointer + _pointer("content", "application/problem+json", "schema")
        validator = _validator(schema_pointer)
        for code in ERRORS[route][status]:
            with_wallet = _problem(code, wallet=WALLET)
            # A token for another player (FORBIDDEN) must not learn that player's balance.
            allowed = route in MONEY_ROUTES and code not in ("UNAUTHENTICATED", "PLAYER_NOT_FOUND", "FORBIDDEN")
            # A decision on an unknown withdrawal knows no player, so no wallet.
            allowed = allowed and (route, code) not in NO_PLAYER_KNOWN
            errors = list(validator.iter_errors(with_wallet))
            assert (not errors) is allowed, f"{route} {status} {code}: wallet allowed={allowed}"


def _all_examples():
    for route, op_pointer, op in _operations():
        if "requestBody" in op:
            body_pointer, body = _deref(op_pointer + "/requestBody", op["requestBody"])
            for _, media_pointer, media in _media(body_pointer, body):
                for name, value in _examples(media_pointer, media):
                    yield f"{' '.join(route)} request {name}", media_pointer + "/schema", value, None
        for status, pointer, response in _responses(op_pointer, op):
            for _, media_pointer, media in _media(pointer, response):
                for name, value in _examples(media_pointer, media):
                    yield f"{' '.join(route)} {status} {name}", media_pointer + "/schema", value, status
        for i, parameter in enumerate(op.get("parameters", []) + SPEC["paths"][route[1]].get("parameters", [])):
            param_pointer, parameter = _deref(op_pointer + f"/parameters/{i}", parameter)
            if "example" in parameter:
                yield f"{' '.join(route)} parameter {parameter['name']}", param_pointer + "/schema", parameter["example"], None


EXAMPLES = list(_all_examples())


@pytest.mark.parametrize("name,schema_pointer,value,status", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_matches_its_schema(name, schema_pointer, value, status):
    errors = sorted(_validator(schema_pointer).iter_errors(value), key=str)
    assert not errors, f"{name}: " + "; ".join(e.message for e in errors)
    if status is not None and int(status) >= 400:
        assert value["status"] == int(status)
        assert value["type"] == "urn:stakeline:problem:" + value["code"].lower().replace("_", "-")
        assert value["title"] == TITLES[value["code"]][1], f"{name}: the title is fixed per code"


def test_main_requests_and_responses_have_examples():
    for route, op_pointer, op in _operations():
        if "requestBody" in op:
            media = op["requestBody"]["content"]["application/json"]
            assert list(_examples(op_pointer, media)), f"{route}: request example"
        for status, pointer, response in _responses(op_pointer, op):
            for _, media_pointer, media in _media(pointer, response):
                assert list(_examples(media_pointer, media)), f"{route} {status}: example"


def _assert_closed(pointer, node, seen):
    pointer, node = _deref(pointer, node)
    if pointer in seen or not isinstance(node, dict):
        return
    seen.add(pointer)
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "properties" in node or "object" in types:
        assert node.get("additionalProperties") is False, f"{pointer} must set additionalProperties: false"
    for name, sub in node.get("properties", {}).items():
        _assert_closed(_pointer_join(pointer, "properties", name), sub, seen)
    for keyword in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(node.get(keyword, [])):
            _assert_closed(_pointer_join(pointer, keyword, i), sub, seen)
    if "items" in node:
        _assert_closed(pointer + "/items", node["items"], seen)


@pytest.mark.parametrize(
    "route", sorted(r for r in ROUTES if r[0] in ("POST", "PUT")), ids=" ".join
)
def test_request_bodies_reject_unknown_fields(route):
    ops = {key: (pointer, op) for key, pointer, op in _operations()}
    op_pointer, op = ops[route]
    body_pointer, body = _deref(op_pointer + "/requestBody", op["requestBody"])
    assert body.get("required") is (route not in OPTIONAL_BODY)
    assert set(body["content"]) == {"application/json"}
    schema_pointer = body_pointer + "/content/application~1json/schema"
    _assert_closed(schema_pointer, _get(schema_pointer), set())


OK_BET = {"bet_id": "b-1", "round_id": "r-1", "game_id": "g-1", "amount": 500, "currency": "EUR"}
OK_REGISTER = {"email": "a@example.com", "date_of_birth": "1990-04-12", "country": "IE", "currency": "EUR"}

CASES = [
    ("DepositRequest", {"deposit_id": "d-1", "amount": 1, "currency": "EUR"}, True),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 10**12, "currency": "EUR"}, True),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 10**12 + 1, "currency": "EUR"}, False),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 0, "currency": "EUR"}, False),
    ("DepositRequest", {"deposit_id": "d-1", "amount": "100", "currency": "EUR"}, False),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 100, "currency": "eur"}, False),
    ("DepositRequest", {"deposit_id": "d 1", "amount": 100, "currency": "EUR"}, False),
    ("DepositRequest", {"deposit_id": "x" * 129, "amount": 100, "currency": "EUR"}, False),
    ("DepositRequest", {"deposit_id": "A.b_c:d-9" + "x" * 119, "amount": 100, "currency": "EUR"}, True),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 100, "currency": "EUR", "note": "x"}, False),
    ("DepositRequest", {"amount": 100, "currency": "EUR"}, False),
    ("BetRequest", OK_BET, True),
    ("BetRequest", {**OK_BET, "game_id": ""}, False),
    ("BetRequest", {**OK_BET, "amount": -5}, False),
    ("BetRequest", {**OK_BET, "amount": 0}, False),
    ("BetRequest", {**OK_BET, "amount": 10**12}, True),
    ("BetRequest", {**OK_BET, "amount": 10**12 + 1}, False),
    ("BetRequest", {**OK_BET, "amount": 1.5}, False),
    ("BetRequest", {**OK_BET, "currency": "eur"}, False),
    ("BetRequest", {**OK_BET, "round_id": "r r"}, False),
    ("BetRequest", {**OK_BET, "odds": 2}, False),
    ("BetRequest", {k: v for k, v in OK_BET.items() if k != "round_id"}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": 0}, True),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": 10**12}, True),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": -1}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": None}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": 5, "extra": True}, False),
    ("SettlementRequest", {"kind": "win", "amount": 5}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "rollback", "amount": None}, True),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win", "amount": 10**12 + 1}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "win"}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "rollback"}, True),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "rollback", "amount": 0}, False),
    ("SettlementRequest", {"settlement_id": "s-1", "kind": "loss", "amount": 0}, False),
    ("ExclusionRequest", {"kind": "time_out", "days": 42}, True),
    ("ExclusionRequest", {"kind": "time_out", "days": 2}, False),
    ("ExclusionRequest", {"kind": "self_exclusion", "days": 183}, True),
    ("ExclusionRequest", {"kind": "self_exclusion", "days": 182}, False),
    ("ExclusionRequest", {"kind": "self_exclusion", "days": 3651}, False),
    ("DepositLimitsRequest", {}, True),
    ("DepositLimitsRequest", {"daily": None, "monthly": 10**12}, True),
    ("DepositLimitsRequest", {"daily": 0}, False),
    ("DepositLimitsRequest", {"yearly": 5}, False),
    ("RegisterRequest", OK_REGISTER, True),
    ("RegisterRequest", {**OK_REGISTER, "display_name": "Ada", "deposit_limits": {"weekly": 5000}}, True),
    ("RegisterRequest", {**OK_REGISTER, "display_name": "A\u0007da"}, False),
    ("RegisterRequest", {**OK_REGISTER, "display_name": "x" * 65}, False),
    ("RegisterRequest", {**OK_REGISTER, "country": "ie"}, False),
    ("RegisterRequest", {**OK_REGISTER, "deposit_limits": {"daily": 5, "hourly": 1}}, False),
    ("RegisterRequest", {k: v for k, v in OK_REGISTER.items() if k != "date_of_birth"}, False),
    ("RegisterRequest", {**OK_REGISTER, "display_name": None, "deposit_limits": None}, True),
    ("RegisterRequest", {**OK_REGISTER, "display_name": "   "}, False),
    ("RegisterRequest", {**OK_REGISTER, "display_name": "Ünïcødé 名前"}, True),
    ("RegisterRequest", {**OK_REGISTER, "date_of_birth": "1900-01-01"}, True),
    ("RegisterRequest", {**OK_REGISTER, "date_of_birth": "1899-12-31"}, False),
    ("RegisterRequest", {**OK_REGISTER, "date_of_birth": "1990-13-01"}, False),
    ("RegisterRequest", {**OK_REGISTER, "date_of_birth": "1990-2-01"}, False),
    ("RegisterRequest", {**OK_REGISTER, "country": "UK"}, False),
    ("RegisterRequest", {**OK_REGISTER, "country": "NO"}, True),
    ("RegisterRequest", {**OK_REGISTER, "currency": "XAU"}, False),
    ("RegisterRequest", {**OK_REGISTER, "deposit_limits": {"daily": None, "monthly": 10**12 + 1}}, False),
    ("DepositRequest", {"deposit_id": "d-1", "amount": 100, "currency": "XTS"}, False),
    ("Timestamp", "2026-11-23T07:04:51.123Z", True),
    ("Timestamp", "2026-11-23T07:04:51Z", False),
    ("Timestamp", "2026-11-23T08:04:51.123+01:00", False),
]


@pytest.mark.parametrize("schema,instance,valid", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_request_schemas_follow_the_conventions(schema, instance, valid):
    errors = list(_validator(f"/components/schemas/{schema}").iter_errors(instance))
    assert (not errors) is valid, [e.message for e in errors]


# The same addresses the register function accepts and refuses (ledger/src/register.rs).
GOOD_EMAILS = ["a@b.co", "first.last+tag@sub.example.org", "x@xn--bcher-kva.example", "o'hara@b.c0"]
BAD_EMAILS = [
    "", "a", "a@b", "a@@b.co", "@b.co", "a@.co", "a b@c.co", "a@b.c", "a..b@c.co", ".a@b.co",
    "a.@b.co", "a@-b.co", "a@b-.co", "é@b.co", "a@b.123", "a" * 65 + "@b.co", "a@b_c.co",
    "a@" + "b" * 64 + ".co", "a@" + ("b" * 63 + ".") * 4 + "co",
]


@pytest.mark.parametrize("email,valid", [(e, True) for e in GOOD_EMAILS] + [(e, False) for e in BAD_EMAILS])
def test_registration_emails(email, valid):
    errors = list(_validator("/components/schemas/RegisterRequest").iter_errors({**OK_REGISTER, "email": email}))
    assert (not errors) is valid, [e.message for e in errors]


def test_validation_failed_and_only_it_carries_errors():
    validator = _validator("/components/schemas/Problem")
    assert not list(validator.iter_errors(_problem("VALIDATION_FAILED")))
    without = {k: v for k, v in _problem("VALIDATION_FAILED").items() if k != "errors"}
    assert list(validator.iter_errors(without)), "VALIDATION_FAILED always names its fields"
    assert list(validator.iter_errors(_problem("VALIDATION_FAILED", errors=[])))
    body = _problem("VALIDATION_FAILED", errors=[{"field": "", "message": "missing field `amount`"}])
    assert not list(validator.iter_errors(body)), '"" is the whole body'
    other = _problem("CURRENCY_MISMATCH", errors=[{"field": "/currency", "message": "m"}])
    assert list(validator.iter_errors(other)), "errors only with VALIDATION_FAILED"


DEPOSIT_ENTRY = {
    "entry_id": "p-1:000000000001",
    "kind": "deposit",
    "amount": 2500,
    "cash_amount": 2500,
    "bonus_amount": 0,
    "cash_after": 2500,
    "bonus_after": 0,
    "reference": "psp-1",
    "created_at": "2026-11-23T07:04:51.123Z",
}


def test_ledger_entries_show_the_split_and_always_a_reference():
    validator = _validator("/components/schemas/LedgerEntry")
    assert not list(validator.iter_errors(DEPOSIT_ENTRY))
    for member in ("cash_amount", "bonus_amount", "amount", "reference"):
        entry = {k: v for k, v in DEPOSIT_ENTRY.items() if k != member}
        assert list(validator.iter_errors(entry)), f"{member} is always present"
    assert list(validator.iter_errors({**DEPOSIT_ENTRY, "reference": None})), "reference is never null"
    release = {
        **DEPOSIT_ENTRY,
        "kind": "bonus_release",
        "amount": 0,
        "cash_amount": 500,
        "bonus_amount": -500,
        "reference": "first-deposit-match:release:1",
    }
    assert not list(validator.iter_errors(release)), "per-balance changes are signed"
    page = _validator("/components/schemas/LedgerPage")
    assert not list(page.iter_errors({"items": [DEPOSIT_ENTRY], "next_cursor": None}))
    assert list(page.iter_errors({"items": [DEPOSIT_ENTRY], "next_cursor": ""}))


# --------------------------------------------------------------------------------------------
# The spec against the code that serves it: the Rust sources are read as text, never built.


def _rust(path):
    return (REPO / path).read_text(encoding="utf-8")


def _rust_table(path, name):
    match = re.search(rf"pub const {name}: &\[&str\] = &\[(.*?)\];", _rust(path), re.S)
    assert match, f"{path}: no table {name}"
    return re.findall(r'"([^"]+)"', match.group(1))


def _rust_struct(path, name):
    """`[(json_name, rust_type, attributes)]` of the fields of a struct, in order."""
    match = re.search(rf"\bstruct {name}\b(?:<[^>]*>)? \{{(.*?)\n\}}", _rust(path), re.S)
    assert match, f"{path}: no struct {name}"
    fields, attributes = [], []
    for line in match.group(1).splitlines():
        line = line.strip()
        if line.startswith("#["):
            attributes.append(line)
        elif m := re.match(r"(?:pub )?(\w+): (.+),$", line):
            attrs = " ".join(attributes)
            renamed = re.search(r'rename = "([^"]+)"', attrs)
            fields.append((renamed.group(1) if renamed else m.group(1), m.group(2), attrs))
            attributes = []
    return fields


def _rust_enum_values(path, name):
    """The JSON strings of a unit-only enum with `rename_all = "snake_case"`."""
    match = re.search(rf'rename_all = "snake_case"\)\]\s*pub enum {name} \{{(.*?)\}}', _rust(path), re.S)
    assert match, f"{path}: no snake_case enum {name}"
    variants = re.findall(r"\b([A-Z]\w*),", match.group(1))
    return [re.sub(r"(?<!^)([A-Z])", r"_\1", v).lower() for v in variants]


LEDGER = "shared/ledger/src/"
REGISTER_FUNCTION = "functions/register/src/lib.rs"
# Response views (`ledger::api` and friends) and the schema describing each.
VIEWS = [
    (LEDGER + "api.rs", "WalletView", "Wallet"),
    (LEDGER + "api.rs", "PlayerView", "Player"),
    (LEDGER + "api.rs", "LimitsView", "DepositLimits"),
    (LEDGER + "api.rs", "PendingLimitView", "PendingLimitChange"),
    (LEDGER + "limits.rs", "LimitValues", "LimitSet"),
    (LEDGER + "api.rs", "ExclusionView", "Exclusion"),
    (LEDGER + "api.rs", "EntryView", "LedgerEntry"),
    (LEDGER + "api.rs", "EntriesPage", "LedgerPage"),
    (LEDGER + "api.rs", "DepositView", "DepositResult"),
    (LEDGER + "api.rs", "BetPlacedView", "BetResult"),
    (LEDGER + "api.rs", "SettlementView", "Settlement"),
    (LEDGER + "api.rs", "SettledView", "SettlementResult"),
    (LEDGER + "api.rs", "BetView", "Bet"),
    (LEDGER + "api.rs", "WithdrawalView", "WithdrawalResult"),
    (LEDGER + "api.rs", "DestinationView", "Destination"),
    (LEDGER + "api.rs", "OpsWithdrawalView", "OpsWithdrawal"),
    (LEDGER + "api.rs", "OpsWithdrawalPage", "OpsWithdrawalPage"),
    (LEDGER + "api.rs", "OperatorActionView", "OperatorAction"),
    (LEDGER + "api.rs", "RiskFlagView", "RiskFlag"),
    (LEDGER + "api.rs", "OpsPlayerView", "OpsPlayer"),
    (LEDGER + "api.rs", "PlayerSearchView", "PlayerSearch"),
    (LEDGER + "api.rs", "BetsPage", "BetPage"),
    (LEDGER + "api.rs", "AuditView", "AuditReport"),
    (LEDGER + "api.rs", "FindingView", "AuditFinding"),
    (LEDGER + "api.rs", "QueueView", "QueueState"),
    (LEDGER + "api.rs", "QueuesView", "QueueList"),
    (LEDGER + "api.rs", "QueueActionView", "QueueAction"),
    (LEDGER + "api.rs", "RedriveView", "RedriveResult"),
    (REGISTER_FUNCTION, "ForfeitView", "ForfeitResult"),
    (REGISTER_FUNCTION, "Forfeited", "ForfeitedBonus"),
    ("shared/edge/src/http.rs", "Problem", "Problem"),
]
# Request bodies as the functions parse them, and the schema(s) describing each.
REQUESTS = [
    (LEDGER + "register.rs", "RegisterRequest", ["RegisterRequest"]),
    (LEDGER + "api.rs", "LimitsRequest", ["DepositLimitsRequest"]),
    (LEDGER + "api.rs", "ExclusionRequest", ["TimeOutRequest", "SelfExclusionRequest"]),
    (LEDGER + "api.rs", "DepositRequest", ["DepositRequest"]),
    (LEDGER + "bet.rs", "BetRequest", ["BetRequest"]),
    (LEDGER + "withdrawal.rs", "WithdrawalRequest", ["WithdrawalRequest"]),
    (LEDGER + "withdrawal.rs", "DestinationRequest", ["Destination"]),
    (LEDGER + "withdrawal.rs", "PayoutResultRequest", ["PayoutResultRequest"]),
    (LEDGER + "withdrawal.rs", "DecisionRequest", ["DecisionRequest"]),
    (LEDGER + "operator.rs", "StatusRequest", ["PlayerStatusRequest"]),
    (LEDGER + "action.rs", "RedriveRequest", ["RedriveRequest"]),
]
ENUMS = [
    (LEDGER + "account.rs", "AccountStatus", "/components/schemas/PlayerStatus"),
    (LEDGER + "entry.rs", "EntryKind", "/components/schemas/LedgerEntryKind"),
    (LEDGER + "limits.rs", "LimitPeriod", "/components/schemas/PendingLimitChange/properties/limit"),
    (LEDGER + "exclusion.rs", "ExclusionKind", "/components/schemas/Exclusion/properties/kind"),
    (LEDGER + "outcome.rs", "BetStatus", "/components/schemas/BetStatus"),
    (LEDGER + "events.rs", "ForfeitReason", "/components/schemas/ForfeitReason"),
]
_STRING_ENUMS = {"AccountStatus", "EntryKind", "LimitPeriod", "ExclusionKind", "BetStatus", "ForfeitReason"}
# `#[serde(transparent)]` wrappers of a String.
_STRING_NEWTYPES = {"PlayerId", "ClientId", "Currency"}


def _json_type(rust_type):
    rust_type = re.sub(r"&'a |&", "", rust_type)
    rust_type = re.sub(r"\b(?:\w+::)+", "", rust_type)  # crate::bet::BetStatus -> BetStatus
    if rust_type.startswith("Option<"):
        return _json_type(rust_type[len("Option<"):-1])
    if re.fullmatch(r"[iu](8|16|32|64|size)", rust_type):
        return "integer"
    if rust_type in ("String", "str") or rust_type in _STRING_ENUMS or rust_type in _STRING_NEWTYPES:
        return "string"
    if rust_type == "bool":
        return "boolean"
    if rust_type.startswith(("Vec<", "[")):
        return "array"
    return "object"


def _schema_types(pointer):
    """The JSON types a (sub)schema allows, following $ref, oneOf and anyOf."""
    pointer, node = _deref(pointer, _get(pointer))
    types = node.get("type")
    found = set(types if isinstance(types, list) else [types] if types else [])
    for keyword in ("oneOf", "anyOf"):
        for i, _ in enumerate(node.get(keyword, [])):
            found |= _schema_types(_pointer_join(pointer, keyword, i))
    return found


def _accepts_null(pointer):
    return not list(_validator(pointer).iter_errors(None))


def _serialized_fields(path, struct):
    """The fields a view writes: `#[serde(flatten)]` members replaced by their own fields."""
    fields = []
    for name, rust_type, attrs in _rust_struct(path, struct):
        if "flatten" in attrs:
            fields += _serialized_fields(path, rust_type)
        else:
            fields.append((name, rust_type, attrs))
    return fields


@pytest.mark.parametrize("path,struct,schema", VIEWS, ids=[v[1] for v in VIEWS])
def test_response_schemas_are_exactly_what_the_views_serialize(path, struct, schema):
    fields = _serialized_fields(path, struct)
    node = SPEC["components"]["schemas"][schema]
    assert set(node["properties"]) == {name for name, _, _ in fields}, f"{schema} vs {struct}"
    always = {name for name, _, attrs in fields if "skip_serializing_if" not in attrs}
    assert set(node["required"]) == always, f"{schema}: required must be what {struct} always writes"
    for name, rust_type, attrs in fields:
        pointer = f"/components/schemas/{schema}/properties/{name}"
        assert _json_type(rust_type) in _schema_types(pointer), f"{schema}.{name}: {rust_type}"
        if "skip_serializing_if" not in attrs:
            nullable = rust_type.startswith("Option<")
            assert _accepts_null(pointer) is nullable, f"{schema}.{name}: {rust_type} null"


@pytest.mark.parametrize("path,struct,schemas", REQUESTS, ids=[r[1] for r in REQUESTS])
def test_request_schemas_are_exactly_what_the_functions_parse(path, struct, schemas):
    fields = _rust_struct(path, struct)
    source = _rust(path)
    assert re.search(rf"deny_unknown_fields\)\]\s*pub struct {struct}\b", source), f"{struct} refuses unknown fields"
    for schema in schemas:
        node = SPEC["components"]["schemas"][schema]
        assert set(node["properties"]) == {name for name, _, _ in fields}, f"{schema} vs {struct}"
        optional = {n for n, t, attrs in fields if "default" in attrs or t.startswith("Option<")}
        assert set(node.get("required", [])) == {n for n, _, _ in fields} - optional, schema
        for name, rust_type, _ in fields:
            pointer = f"/components/schemas/{schema}/properties/{name}"
            assert _json_type(rust_type) in _schema_types(pointer), f"{schema}.{name}: {rust_type}"
            assert _accepts_null(pointer) is rust_type.startswith("Option<"), f"{schema}.{name} null"


@pytest.mark.parametrize("path,enum,pointer", ENUMS, ids=[e[1] for e in ENUMS])
def test_enums_are_the_codes_variants(path, enum, pointer):
    assert _deref(pointer, _get(pointer))[1]["enum"] == _rust_enum_values(path, enum)


@pytest.mark.parametrize(
    "schema,table", [("Currency", "CURRENCIES"), ("Country", "COUNTRIES")], ids=["Currency", "Country"]
)
def test_reference_codes_are_the_ones_the_code_accepts(schema, table):
    assert SPEC["components"]["schemas"][schema]["enum"] == _rust_table(LEDGER + "reference.rs", table)


def test_titles_and_statuses_are_the_codes():
    assert {code: status for code, (status, _) in TITLES.items()} == ERROR_CODES
    source = _rust(LEDGER + "error.rs")
    body = re.search(r"pub fn title\(self\).*?\n    \}", source, re.S).group(0)
    names = dict(re.findall(r'ErrorCode::(\w+) => "([A-Z_]+)"', source))
    titles = {names[variant]: title for variant, title in re.findall(r'ErrorCode::(\w+) => "([^"]+)"', body)}
    assert titles == {code: title for code, (_, title) in TITLES.items()}


def _router_routes():
    manifest = tomllib.loads(CARGO_TOML.read_text(encoding="utf-8"))
    router = (
        manifest.get("workspace", {})
        .get("metadata", {})
        .get("lambda", {})
        .get("watch", {})
        .get("router")
    )
    if router is None:
        pytest.fail(
            f"{CARGO_TOML} has no [workspace.metadata.lambda.watch.router] table, so the routes "
            "served locally cannot be compared with the operations openapi.yaml marks "
            "`x-stakeline-served: true`. Add the table, e.g. "
            '"/players/{player_id}/deposits" = [{ function = "deposit", method = "POST" }]'
        )
    routes = set()
    if isinstance(router, dict):
        for path, value in router.items():
            if isinstance(value, str):
                pytest.fail(f"router path {path} maps every method to {value}; list methods explicitly")
            for route in value:
                routes.add((route["method"].upper(), path, route["function"]))
    else:  # [[workspace.metadata.lambda.watch.router]] with path, methods, function
        for route in router:
            if not route.get("methods"):
                pytest.fail(f"router path {route['path']} has no methods; list them explicitly")
            for method in route["methods"]:
                routes.add((method.upper(), route["path"], route["function"]))
    return routes


def test_served_operations_equal_the_local_router():
    served = {
        (method, path, op["x-stakeline-function"])
        for (method, path), _, op in _operations()
        if op["x-stakeline-served"] is True
    }
    routed = _router_routes()
    assert routed == served, (
        f"only in Cargo.toml router: {sorted(routed - served)}; "
        f"only served in openapi.yaml: {sorted(served - routed)}"
    )


# --------------------------------------------------------------------------------------------
# Bets and settlements against ledger/src/{bet,settlement,api}.rs and functions/settle.

SETTLEMENT_RS = LEDGER + "settlement.rs"
SETTLE_QUEUE_MESSAGE = "shared/wire/src/queue.rs"
WIN_SETTLEMENT = "/components/schemas/WinSettlementRequest"
ROLLBACK_SETTLEMENT = "/components/schemas/RollbackSettlementRequest"


def _parsed_kinds():
    """The kinds `SettlementKind::parse` accepts: its `("win", Some(..))` style match arms."""
    body = re.search(r"pub fn parse\(kind: &str.*?\n    \}", _rust(LEDGER + "outcome.rs"), re.S).group(0)
    return set(re.findall(r'\("(\w+)", (?:Some|None)', body))


def test_settlement_request_schemas_are_what_settle_parses():
    fields = _rust_struct(SETTLEMENT_RS, "SettlementRequest")
    assert re.search(r"deny_unknown_fields\)\]\s*pub struct SettlementRequest\b", _rust(SETTLEMENT_RS))
    names = {name for name, _, _ in fields}
    optional = {n for n, t, attrs in fields if "default" in attrs or t.startswith("Option<")}
    assert optional == {"amount"}
    schemas = {pointer: _get(pointer) for pointer in (WIN_SETTLEMENT, ROLLBACK_SETTLEMENT)}
    assert set().union(*(set(node["properties"]) for node in schemas.values())) == names
    for pointer, node in schemas.items():
        assert node["additionalProperties"] is False
        assert set(node["properties"]) <= names, pointer
        assert names - optional <= set(node["required"]), pointer
    kinds = {node["properties"]["kind"]["const"] for node in schemas.values()}
    assert kinds == _parsed_kinds() == set(SPEC["components"]["schemas"]["SettlementKind"]["enum"])
    assert set(SPEC["components"]["schemas"]["SettlementRequest"]["discriminator"]["mapping"]) == kinds
    # `amount: Option<i64>` with `#[serde(default)]`: null is read as absent, which a rollback
    # needs and a win refuses (at /amount).
    win, rollback = _validator(WIN_SETTLEMENT), _validator(ROLLBACK_SETTLEMENT)
    assert list(win.iter_errors({"settlement_id": "s", "kind": "win", "amount": None}))
    assert not list(rollback.iter_errors({"settlement_id": "s", "kind": "rollback", "amount": None}))
    assert list(rollback.iter_errors({"settlement_id": "s", "kind": "rollback", "amount": 0}))


def test_settlement_kinds_and_statuses_are_the_codes():
    source = _rust(LEDGER + "outcome.rs")
    names = re.search(r"pub fn name\(self\).*?\n    \}", source, re.S).group(0)
    assert set(re.findall(r'=> "(\w+)"', names)) == set(SPEC["components"]["schemas"]["SettlementKind"]["enum"])
    bet_statuses = _rust_enum_values(LEDGER + "outcome.rs", "BetStatus")
    assert SPEC["components"]["schemas"]["SettledStatus"]["enum"] == [s for s in bet_statuses if s != "open"]


def test_a_placed_bet_always_answers_open():
    view = re.search(r"impl BetPlacedView \{.*?\n\}", _rust(LEDGER + "api.rs"), re.S).group(0)
    assert "status: BetStatus::Open," in view
    assert SPEC["components"]["schemas"]["BetResult"]["properties"]["status"]["const"] == "open"


def test_the_documented_win_split_is_the_code():
    split = re.search(r"pub fn split_win\(.*?\n\}", _rust(SETTLEMENT_RS), re.S).group(0)
    assert "i128::from(amount) * i128::from(bonus_stake) / stake" in split
    assert "(amount - bonus, bonus)" in split
    description = SPEC["paths"]["/players/{player_id}/bets/{bet_id}/settlement"]["post"]["description"]
    assert "`bonus_credit = floor(amount × bonus_stake / stake)`" in description
    assert "`cash_credit = amount − bonus_credit`" in description


def test_the_settlement_queue_message_is_documented():
    fields = _rust_struct(SETTLE_QUEUE_MESSAGE, "QueuedSettlement")
    assert re.search(r"deny_unknown_fields\)\]\s*struct QueuedSettlement\b", _rust(SETTLE_QUEUE_MESSAGE))
    request = {name for name, _, _ in _rust_struct(SETTLEMENT_RS, "SettlementRequest")}
    assert {name for name, _, _ in fields} == request | {"player_id", "bet_id"}
    shape = ", ".join(name + ("?" if t.startswith("Option<") else "") for name, t, _ in fields)
    description = SPEC["paths"]["/players/{player_id}/bets/{bet_id}/settlement"]["post"]["description"]
    assert "`{" + shape + "}`" in description
    assert "5 receives" in description and "dead-letter queue" in description


SETTLED = {
    "bet_id": "b-1",
    "settlement_id": "s-1",
    "kind": "win",
    "amount": 1250,
    "status": "won",
    "cash_credit": 1000,
    "bonus_credit": 250,
    "entry_id": "p-1:000000000003",
    "settled_at": "2026-11-23T07:10:02.481Z",
}
ROLLED_BACK = {**SETTLED, "kind": "rollback", "amount": None, "status": "rolled_back"}
NOTHING_MOVED = {"cash_credit": 0, "bonus_credit": 0, "entry_id": None}

SETTLEMENT_CASES = [
    (SETTLED, True),
    ({**SETTLED, "amount": 0, "status": "lost", **NOTHING_MOVED}, True),
    (ROLLED_BACK, True),
    ({**ROLLED_BACK, **NOTHING_MOVED}, True),  # a rollback of a bet that never arrived
    ({**SETTLED, "amount": 0, "status": "won", **NOTHING_MOVED}, False),
    ({**SETTLED, "amount": 0, "status": "lost", "cash_credit": 0, "bonus_credit": 0}, False),
    ({**SETTLED, "status": "lost"}, False),
    ({**SETTLED, "status": "rolled_back"}, False),
    ({**SETTLED, "status": "open"}, False),
    ({**SETTLED, "amount": None}, False),
    ({**ROLLED_BACK, "amount": 800}, False),
    ({**ROLLED_BACK, "status": "won"}, False),
    ({**SETTLED, "entry_id": None}, False),
    ({**ROLLED_BACK, **NOTHING_MOVED, "entry_id": "p-1:000000000004"}, False),
    ({**SETTLED, "kind": "cashout"}, False),
    ({k: v for k, v in SETTLED.items() if k != "entry_id"}, False),
    ({k: v for k, v in ROLLED_BACK.items() if k != "amount"}, False),
]


@pytest.mark.parametrize("settlement,valid", SETTLEMENT_CASES, ids=[str(i) for i in range(len(SETTLEMENT_CASES))])
def test_settlements_are_consistent(settlement, valid):
    for schema, value in (("Settlement", settlement), ("SettlementResult", {**settlement, "wallet": WALLET})):
        errors = list(_validator(f"/components/schemas/{schema}").iter_errors(value))
        assert (not errors) is valid, f"{schema}: {[e.message for e in errors]}"


OPEN_BET = {
    "bet_id": "b-1",
    "player_id": "p-1",
    "round_id": "r-1",
    "game_id": "g-1",
    "amount": 800,
    "currency": "EUR",
    "status": "open",
    "cash_stake": 300,
    "bonus_stake": 500,
    "placed_at": "2026-11-23T07:09:40.017Z",
    "settlement": None,
}


def test_a_bet_is_open_exactly_while_it_has_no_settlement():
    validator = _validator("/components/schemas/Bet")
    assert not list(validator.iter_errors(OPEN_BET))
    assert not list(validator.iter_errors({**OPEN_BET, "status": "won", "settlement": SETTLED}))
    assert not list(validator.iter_errors({**OPEN_BET, "status": "rolled_back", "settlement": ROLLED_BACK}))
    assert list(validator.iter_errors({**OPEN_BET, "status": "won"})), "closed without a settlement"
    assert list(validator.iter_errors({**OPEN_BET, "settlement": SETTLED})), "open with a settlement"
    assert list(validator.iter_errors({k: v for k, v in OPEN_BET.items() if k != "settlement"}))


# --------------------------------------------------------------------------------------------
# The bonus forfeit route against functions/register and ledger/src/bonus.rs.

FORFEIT = ("POST", "/players/{player_id}/bonus/forfeit")


def _rust_fn(path, name):
    """The text of `fn name` up to its closing brace at the start of a line."""
    match = re.search(rf"\bfn {name}\b.*?\n\}}", _rust(path), re.S)
    assert match, f"{path}: no fn {name}"
    return match.group(0)


def test_the_forfeit_body_is_empty_or_the_empty_object():
    no_body = _rust_fn(LEDGER + "api.rs", "no_body")
    assert re.search(r"deny_unknown_fields\)\]\s*struct Empty \{\}", no_body), "the empty body takes no member"
    # A body of only whitespace is no body; anything else must parse as the empty object.
    assert "body.iter().all(u8::is_ascii_whitespace)" in no_body
    assert "parse_json::<Empty>(body)" in no_body
    handler = _rust_fn(REGISTER_FUNCTION, "forfeit_bonus")
    assert "ledger::api::no_body(request.body())?;" in handler
    assert "unknown_query_params(request, &[])?;" in handler
    validator = _validator("/components/schemas/ForfeitRequest")
    assert not list(validator.iter_errors({}))
    for bad in ({"campaign_id": "first-deposit-match"}, {"reason": None}, [], None, ""):
        assert list(validator.iter_errors(bad)), bad


def test_forfeit_is_the_players_own_route_and_never_carries_a_wallet_in_errors():
    handler = _rust_fn(REGISTER_FUNCTION, "forfeit_bonus")
    assert "state.path_player(request)" in handler, "player token, sub == player_id"
    assert "crate::auth::require_player(" in _rust("shared/edge/src/state.rs"), "path_player checks sub == player_id"
    assert "ForfeitReason::PlayerRequest" in handler
    assert "correlation_id(request)" in handler
    dispatch = _rust_fn(REGISTER_FUNCTION, "handle")
    assert 'Some("POST /players/{player_id}/bonus/forfeit") => forfeit_bonus(' in dispatch
    assert "problem(&error, &instance(&request), None)" in dispatch, "register's errors carry no wallet"
    assert FORFEIT not in MONEY_ROUTES


FORFEIT_WALLET = {**WALLET, "bonus": 0, "wagering_remaining": 0}


@pytest.mark.parametrize(
    "result,valid",
    [
        ({"forfeited": {"campaign_id": "first-deposit-match", "amount": 5000}, "wallet": FORFEIT_WALLET}, True),
        ({"forfeited": {"campaign_id": "first-deposit-match", "amount": 0}, "wallet": FORFEIT_WALLET}, True),
        ({"forfeited": {"campaign_id": "unattributed", "amount": 40}, "wallet": FORFEIT_WALLET}, True),
        ({"forfeited": None, "wallet": FORFEIT_WALLET}, True),
        ({"wallet": FORFEIT_WALLET}, False),
        ({"forfeited": None}, False),
        ({"forfeited": {"campaign_id": "first-deposit-match"}, "wallet": FORFEIT_WALLET}, False),
        ({"forfeited": {"campaign_id": "first-deposit-match", "amount": -5}, "wallet": FORFEIT_WALLET}, False),
        ({"forfeited": {"campaign_id": "", "amount": 5}, "wallet": FORFEIT_WALLET}, False),
    ],
    ids=[str(i) for i in range(9)],
)
def test_forfeit_results(result, valid):
    errors = list(_validator("/components/schemas/ForfeitResult").iter_errors(result))
    assert (not errors) is valid, [e.message for e in errors]


def test_unattributed_is_the_campaign_the_code_names():
    match = re.search(r'pub const UNATTRIBUTED: &str = "([^"]+)";', _rust(LEDGER + "bonus.rs"))
    assert match
    name = match.group(1)
    assert not list(_validator("/components/schemas/CampaignId").iter_errors(name))
    assert f"`{name}`" in SPEC["components"]["schemas"]["CampaignId"]["description"]
    ops = {key: op for key, _, op in _operations()}
    assert f"`{name}`" in ops[FORFEIT]["description"]


# --------------------------------------------------------------------------------------------
# Bonus ledger entries: their references as ledger/src/bonus.rs and entry.rs write them.

BONUS_RS = LEDGER + "bonus.rs"


def test_bonus_references_are_what_the_code_writes():
    source = _rust(BONUS_RS)
    assert 'format!("{}:award", campaign.campaign_id)' in source
    end_bonus = _rust_fn(BONUS_RS, "end_bonus")
    assert 'format!("{campaign_id}:{suffix}:{}", account.seq.saturating_add(1))' in end_bonus
    assert set(re.findall(r'\(\w+, "(\w+)"\)', end_bonus)) == {"release", "forfeit"}
    # `<n>` is the position of the entry itself: `post` gives the entry `seq + 1`.
    post = re.search(r"pub fn post_with_pending\(.*?\n    \}", _rust(LEDGER + "account.rs"), re.S).group(0)
    assert "next.seq = self.seq.saturating_add(1);" in post
    assert "entry_id: LedgerEntry::id_for(&self.player_id, next.seq)," in post
    assert 'format!("{player_id}:{seq:012}")' in _rust(LEDGER + "entry.rs")
    reference = SPEC["components"]["schemas"]["LedgerEntry"]["properties"]["reference"]["description"]
    for form in ("`<campaign_id>:award`", "`<campaign_id>:release:<n>`", "`<campaign_id>:forfeit:<n>`"):
        assert form in reference


AWARD_ENTRY = {
    **DEPOSIT_ENTRY,
    "entry_id": "p-1:000000000002",
    "kind": "bonus_award",
    "amount": 2500,
    "cash_amount": 0,
    "bonus_amount": 2500,
    "bonus_after": 2500,
    "reference": "first-deposit-match:award",
}
RELEASE_ENTRY = {
    **DEPOSIT_ENTRY,
    "entry_id": "p-1:000000000051",
    "kind": "bonus_release",
    "amount": 0,
    "cash_amount": 700,
    "bonus_amount": -700,
    "cash_after": 3200,
    "bonus_after": 0,
    "reference": "first-deposit-match:release:51",
}
FORFEIT_ENTRY = {
    **DEPOSIT_ENTRY,
    "entry_id": "p-1:000000000004",
    "kind": "bonus_forfeit",
    "amount": -2500,
    "cash_amount": 0,
    "bonus_amount": -2500,
    "bonus_after": 0,
    "reference": "unattributed:forfeit:4",
}

BONUS_ENTRY_CASES = [
    (AWARD_ENTRY, True),
    (RELEASE_ENTRY, True),
    (FORFEIT_ENTRY, True),
    ({**FORFEIT_ENTRY, "reference": "first-deposit-match:forfeit:4"}, True),
    ({**AWARD_ENTRY, "reference": "psp-1"}, False),
    ({**AWARD_ENTRY, "cash_amount": 2500, "bonus_amount": 0}, False),
    ({**RELEASE_ENTRY, "reference": "first-deposit-match:forfeit:51"}, False),
    ({**RELEASE_ENTRY, "reference": "first-deposit-match:release:051"}, False),
    ({**RELEASE_ENTRY, "amount": 700}, False),
    ({**RELEASE_ENTRY, "bonus_after": 100}, False),
    ({**FORFEIT_ENTRY, "reference": "unattributed:forfeit"}, False),
    ({**FORFEIT_ENTRY, "cash_amount": -100, "amount": -2600}, False),
    ({**FORFEIT_ENTRY, "bonus_after": 300}, False),
]


@pytest.mark.parametrize(
    "entry,valid", BONUS_ENTRY_CASES, ids=[f"{c[0]['kind']}-{i}" for i, c in enumerate(BONUS_ENTRY_CASES)]
)
def test_bonus_entries(entry, valid):
    errors = list(_validator("/components/schemas/LedgerEntry").iter_errors(entry))
    assert (not errors) is valid, [e.message for e in errors]


def test_the_documented_first_campaign_is_the_templates_default():
    """The numbers "Bonuses" gives for the first campaign are the deployment's default."""
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    match = re.search(r"^  BonusCampaigns:\n(?:    .*\n)*?    Default: '(.*)'$", template, re.M)
    if match is None:
        pytest.skip("template.yaml has no BonusCampaigns default")
    (campaign,) = json.loads(match.group(1))
    assert campaign["campaign_id"] == "first-deposit-match"
    assert campaign["trigger"] == "first_deposit"
    assert campaign["match_percent"] == 100
    assert campaign["cap"] == {"EUR": 10000, "GBP": 10000, "USD": 10000}
    assert campaign["max_stake"] == {"EUR": 500, "GBP": 500, "USD": 500}
    assert campaign["wagering_multiplier"] == 10
    assert campaign["expiry_days"] == 30
    description = SPEC["info"]["description"]
    for text in ("`first-deposit-match`", "100%", "up to 10000 minor units (100.00) in EUR, GBP or USD",
                 "10× the bonus", "maximum stake 500 (5.00)", "30 days"):
        assert text in description, text


# --------------------------------------------------------------------------------------------
# X-Correlation-Id against edge/src/http.rs.


def test_every_operation_takes_the_correlation_id():
    parameter = SPEC["components"]["parameters"]["CorrelationId"]
    source = _rust("shared/edge/src/http.rs")
    header = re.search(r'pub const CORRELATION_HEADER: &str = "([^"]+)";', source).group(1)
    assert parameter["name"].lower() == header
    assert (parameter["in"], parameter["required"]) == ("header", False)
    assert parameter["schema"]["pattern"] == SPEC["components"]["schemas"]["ClientId"]["pattern"]
    body = _rust_fn("shared/edge/src/http.rs", "correlation_id")
    # A malformed value is ignored (the Lambda request id is used), never refused.
    assert ".filter(|v| ledger::ClientId::new(v).is_ok())" in body
    assert "request_id" in body
    ref = {"$ref": "#/components/parameters/CorrelationId"}
    for route, _, op in _operations():
        assert op.get("parameters", []).count(ref) == 1, f"{route}: X-Correlation-Id"


# --------------------------------------------------------------------------------------------
# Events against ledger/src/events.rs.

EVENTS_RS = LEDGER + "events.rs"


def _event_kinds():
    """`{variant: [(field, rust_type)]}` of `EventKind`, in order."""
    body = re.search(r"pub enum EventKind \{(.*?)\n\}", _rust(EVENTS_RS), re.S).group(1)
    kinds = {}
    for name, fields in re.findall(r"^    (\w+) \{(.*?)^    \},", body, re.S | re.M):
        kinds[name] = re.findall(r"^\s+(\w+): (.+),$", fields, re.M)
    assert kinds, "EventKind has no variants"
    return kinds


def _event_detail(kind):
    """(pointer, properties, required) of the `detail` of `<kind>Event`, EventDetail included."""
    pointer = f"/components/schemas/{kind}Event/properties/detail"
    detail = _get(pointer)
    properties = {name: f"{pointer}/properties/{name}" for name in detail.get("properties", {})}
    required = set(detail.get("required", []))
    for i, part in enumerate(detail.get("allOf", [])):
        part_pointer, part = _deref(f"{pointer}/allOf/{i}", part)
        properties |= {name: f"{part_pointer}/properties/{name}" for name in part.get("properties", {})}
        required |= set(part.get("required", []))
    return pointer, properties, required


def test_event_types_are_the_codes_variants():
    kinds = list(_event_kinds())
    names = dict(re.findall(r'EventKind::(\w+) \{ \.\. \} => "(\w+)"', _rust_fn(EVENTS_RS, "name")))
    assert names == {kind: kind for kind in kinds}, "detail-type is the variant's name"
    schemas = SPEC["components"]["schemas"]
    assert schemas["EventType"]["enum"] == kinds
    event = schemas["WalletEvent"]
    assert event["oneOf"] == [{"$ref": f"#/components/schemas/{kind}Event"} for kind in kinds]
    assert event["discriminator"] == {
        "propertyName": "detail-type",
        "mapping": {kind: f"#/components/schemas/{kind}Event" for kind in kinds},
    }
    for kind in kinds:
        assert schemas[f"{kind}Event"]["properties"]["detail-type"]["const"] == kind
        assert f"| `{kind}` |" in SPEC["info"]["description"], f"{kind} in the Events table"
    source = re.search(r'pub const SOURCE: &str = "([^"]+)";', _rust(EVENTS_RS)).group(1)
    assert event["properties"]["source"]["const"] == source
    assert f"`{source}`" in SPEC["info"]["description"]


def test_event_details_are_exactly_what_the_events_serialize():
    source = _rust(EVENTS_RS)
    # The detail is the event flat: the common members and the variant's, without the tag.
    assert re.search(r'#\[serde\(tag = "detail_type"\)\]\s*pub enum EventKind', source)
    assert 'object.remove("detail_type");' in _rust_fn(EVENTS_RS, "detail")
    fields = _rust_struct(EVENTS_RS, "WalletEvent")
    assert [(name, t) for name, t, attrs in fields if "flatten" in attrs] == [("kind", "EventKind")]
    common = [(name, rust_type) for name, rust_type, attrs in fields if "flatten" not in attrs]
    for kind, fields in _event_kinds().items():
        pointer, properties, required = _event_detail(kind)
        assert _get(pointer).get("unevaluatedProperties") is False, f"{kind}: the detail is closed"
        expected = common + fields
        assert set(properties) == {name for name, _ in expected}, kind
        assert required == set(properties), f"{kind}: every member is always written"
        for name, rust_type in expected:
            assert _json_type(rust_type) in _schema_types(properties[name]), f"{kind}.{name}: {rust_type}"
            assert _accepts_null(properties[name]) is rust_type.startswith("Option<"), f"{kind}.{name} null"


def test_event_ids_are_derived_from_the_causing_id():
    source = _rust(EVENTS_RS)
    assert 'event_id: format!("{}:{cause}", kind.name()),' in source
    # constructor -> (its cause, the id the Events table documents after `<detail-type>:`)
    causes = {
        "player_registered": ("account.player_id.as_str(),", ["PlayerRegistered:<player_id>"]),
        "deposit_completed": ("outcome.deposit_id.as_str(),", ["DepositCompleted:<deposit_id>"]),
        "bet_placed": ("outcome.bet_id.as_str(),", ["BetPlaced:<bet_id>"]),
        "bet_settled": ("outcome.settlement_id.as_str(),", ["BetSettled:<settlement_id>"]),
        "bonus_awarded": ('&format!("{player_id}:{campaign_id}"),', ["BonusAwarded:<player_id>:<campaign_id>"]),
        "bonus_ended": (
            '&format!("{player_id}:{campaign_id}:{version}"),',
            [f"{kind}:<player_id>:<campaign_id>:<wallet version>" for kind in ("BonusReleased", "BonusForfeited")],
        ),
    }
    description = SPEC["info"]["description"]
    for function, (cause, documented) in causes.items():
        body = _rust_fn(EVENTS_RS, function)
        first_argument = re.search(r"WalletEvent::new\(\s*(.*?)\n", body).group(1).strip()
        assert first_argument == cause, f"{function}: the event id's cause"
        for event_id in documented:
            assert f"| `{event_id}` |" in description, event_id


EVENT_EXAMPLES = SPEC["components"]["schemas"]["WalletEvent"]["examples"]


@pytest.mark.parametrize("event", EVENT_EXAMPLES, ids=[e["detail-type"] for e in EVENT_EXAMPLES])
def test_event_examples_match_the_schema(event):
    errors = list(_validator("/components/schemas/WalletEvent").iter_errors(event))
    assert not errors, [e.message for e in errors]
    detail = event["detail"]
    assert detail["event_id"].startswith(event["detail-type"] + ":")


def _bad_events():
    deposit, award, forfeit = EVENT_EXAMPLES
    yield "extra member", {**deposit, "detail": {**deposit["detail"], "bonus": 5}}
    yield "tag in the detail", {**deposit, "detail": {**deposit["detail"], "detail_type": "DepositCompleted"}}
    yield "missing member", {**deposit, "detail": {k: v for k, v in deposit["detail"].items() if k != "entry_id"}}
    yield "missing event id", {**deposit, "detail": {k: v for k, v in deposit["detail"].items() if k != "event_id"}}
    yield "wrong type", {**deposit, "detail-type": "BetPlaced"}
    yield "unknown type", {**deposit, "detail-type": "DepositFailed"}
    yield "wrong source", {**deposit, "source": "stakeline.bonus"}
    yield "unknown reason", {**forfeit, "detail": {**forfeit["detail"], "reason": "timeout"}}
    yield "forfeit without reason", {**forfeit, "detail-type": "BonusReleased"}
    yield "negative bonus", {**award, "detail": {**award["detail"], "amount": -1}}
    yield "timestamp without millis", {**award, "detail": {**award["detail"], "expires_at": "2026-12-23T07:04:52Z"}}


BAD_EVENTS = list(_bad_events())


@pytest.mark.parametrize("event", [e for _, e in BAD_EVENTS], ids=[n for n, _ in BAD_EVENTS])
def test_events_the_schema_refuses(event):
    assert list(_validator("/components/schemas/WalletEvent").iter_errors(event))
