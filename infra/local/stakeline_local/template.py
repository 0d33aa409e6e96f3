"""template.yaml as data: loading it, reading its functions, deriving what moto can provision.

moto's CloudFormation does not run the SAM transform, so the local stack is the template minus
every AWS::Serverless::* resource and everything that (transitively) refers to one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import auth

SERVERLESS_PREFIX = "AWS::Serverless::"
PSEUDO_PREFIX = "AWS::"
# Lambda's defaults where a function or an SQS/DynamoDB event leaves a setting out.
DEFAULT_FUNCTION_TIMEOUT = 3
DEFAULT_SQS_BATCH_SIZE = 10
DEFAULT_STREAM_BATCH_SIZE = 100


class _TemplateLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags into their long form."""


def _construct_short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_short_tag)


def load_template(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return template


@dataclass
class References:
    """What a piece of template refers to, by kind."""

    names: set[str] = field(default_factory=set)  # resources or parameters
    conditions: set[str] = field(default_factory=set)
    mappings: set[str] = field(default_factory=set)


_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def references(value: Any, found: References | None = None) -> References:
    found = References() if found is None else found
    if isinstance(value, list):
        for item in value:
            references(item, found)
        return found
    if not isinstance(value, dict):
        return found
    if len(value) == 1:
        (key, argument), = value.items()
        if key == "Ref" and isinstance(argument, str):
            if not argument.startswith(PSEUDO_PREFIX):
                found.names.add(argument)
            return found
        if key == "Fn::GetAtt":
            target = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
            if isinstance(target, str):
                found.names.add(target)
            if isinstance(argument, list):
                references(argument[1:], found)
            return found
        if key == "Fn::Sub":
            text, local_variables = (argument, {}) if isinstance(argument, str) else argument
            for name in _SUB_VARIABLE.findall(text):
                root = name.split(".", 1)[0].strip()
                if not root.startswith(PSEUDO_PREFIX) and root not in local_variables:
                    found.names.add(root)
            references(local_variables, found)
            return found
        if key == "Fn::If" and isinstance(argument, list) and argument:
            found.conditions.add(argument[0])
            references(argument[1:], found)
            return found
        if key == "Condition" and isinstance(argument, str):
            found.conditions.add(argument)
            return found
        if key == "Fn::FindInMap" and isinstance(argument, list) and argument:
            if isinstance(argument[0], str):
                found.mappings.add(argument[0])
            references(argument[1:], found)
            return found
    for item in value.values():
        references(item, found)
    return found


def resource_references(resource: dict) -> References:
    """What a resource (or an output) needs: its properties, DependsOn and Condition."""
    found = references({k: v for k, v in resource.items() if k not in ("DependsOn", "Condition")})
    depends_on = resource.get("DependsOn", [])
    found.names.update([depends_on] if isinstance(depends_on, str) else depends_on)
    if "Condition" in resource:
        found.conditions.add(resource["Condition"])
    return found


@dataclass
class LocalTemplate:
    body: dict
    kept: list[str]
    dropped: list[str]
    # Output key -> (function logical id, variable) for environment values moto resolves.
    environment_outputs: dict[str, tuple[str, str]]
    # Dropped because the emulator cannot create their type (a subset of ``dropped``).
    unsupported: list[str] = field(default_factory=list)


ENVIRONMENT_OUTPUT_PREFIX = "StakelineLocalEnv"


def _condition_closure(conditions: dict, wanted: set[str]) -> set[str]:
    closure: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name in closure or name not in conditions:
            continue
        closure.add(name)
        pending.extend(references(conditions[name]).conditions)
    return closure


def _rewrite_moto_pitfalls(value: Any, resources: dict) -> Any:
    """Equivalent forms moto handles: Ref of an EventBus (its name) becomes GetAtt Name."""
    if isinstance(value, list):
        return [_rewrite_moto_pitfalls(item, resources) for item in value]
    if not isinstance(value, dict):
        return value
    target = value.get("Ref") if len(value) == 1 else None
    if isinstance(target, str) and resources.get(target, {}).get("Type") == "AWS::Events::EventBus":
        return {"Fn::GetAtt": [target, "Name"]}
    return {key: _rewrite_moto_pitfalls(item, resources) for key, item in value.items()}


def derive_local_template(
    template: dict, can_create: Callable[[str], bool] | None = None
) -> LocalTemplate:
    """The provisionable part of ``template``.

    ``can_create(resource_type)`` says whether the emulator can create a type (default: every
    type that is not AWS::Serverless::*). Resources it cannot create are dropped with
    everything that refers to them, and listed in ``unsupported``.

    Each function environment value that is an expression (a Ref to the table, a parameter…)
    becomes an output, so moto resolves it exactly as CloudFormation would. Expressions that
    need something moto does not have (a dropped resource, a Secrets Manager dynamic
    reference) are left out; the local suite must supply those values itself. A secret's ARN
    (`X_SECRET_ARN`) is never resolved: locally the function holds the development secret
    instead (function_environment), so the secret ARN parameters are not needed locally.

    Only Parameters, Conditions, Mappings, Resources and Outputs are carried over: not Rules
    (parameter assertions, checked by CloudFormation on AWS), nor Globals or Transform.
    """
    resources: dict = template["Resources"]
    parameters: dict = template.get("Parameters", {}) or {}
    conditions: dict = template.get("Conditions", {}) or {}
    mappings: dict = template.get("Mappings", {}) or {}

    deps = {logical_id: resource_references(r) for logical_id, r in resources.items()}
    kept = {i for i, r in resources.items() if not str(r.get("Type", "")).startswith(SERVERLESS_PREFIX)}
    unsupported = sorted(
        i for i in kept if can_create is not None and not can_create(str(resources[i].get("Type", "")))
    )
    kept -= set(unsupported)
    changed = True
    while changed:
        changed = False
        for logical_id in sorted(kept):
            unresolved = deps[logical_id].names - kept - set(parameters)
            if unresolved:
                kept.discard(logical_id)
                changed = True

    def resolvable(found: References) -> bool:
        return not (found.names - kept - set(parameters))

    outputs: dict = {}
    for key, output in (template.get("Outputs", {}) or {}).items():
        found = resource_references(output)
        if resolvable(found):
            outputs[key] = output

    environment_outputs: dict[str, tuple[str, str]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for variable, value in sorted(function_environment(template, resource).items()):
            if not isinstance(value, (dict, list)):
                continue
            key = f"{ENVIRONMENT_OUTPUT_PREFIX}{logical_id}{len(environment_outputs)}"
            if resolvable(references(value)) and "{{resolve:" not in repr(value):
                outputs[key] = {"Value": value}
            environment_outputs[key] = (logical_id, variable)

    local_resources = {i: r for i, r in resources.items() if i in kept}
    used = References()
    for piece in [*local_resources.values(), *outputs.values()]:
        found = resource_references(piece)
        used.names |= found.names
        used.conditions |= found.conditions
        used.mappings |= found.mappings
    used_conditions = _condition_closure(conditions, used.conditions)
    for name in used_conditions:
        references(conditions[name], used)

    body: dict = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Local part of template.yaml (no AWS::Serverless resources).",
        "Parameters": {k: v for k, v in parameters.items() if k in used.names},
        "Conditions": {k: v for k, v in conditions.items() if k in used_conditions},
        "Mappings": {k: v for k, v in mappings.items() if k in used.mappings},
        "Resources": _rewrite_moto_pitfalls(local_resources, resources),
        "Outputs": _rewrite_moto_pitfalls(outputs, resources),
    }
    body = {k: v for k, v in body.items() if v or k == "Resources"}
    return LocalTemplate(
        body=body,
        kept=sorted(kept),
        dropped=sorted(set(resources) - kept),
        environment_outputs=environment_outputs,
        unsupported=unsupported,
    )


@dataclass
class SqsEvent:
    """A function's `Type: SQS` event: what Lambda's event source mapping does with the queue."""

    name: str
    # The queue's logical id in the template (from `!GetAtt Queue.Arn` or `!Ref`), or the ARN
    # as written when it is not a resource of this template.
    queue: str
    batch_size: int = DEFAULT_SQS_BATCH_SIZE
    maximum_batching_window: float = 0
    report_batch_item_failures: bool = False
    maximum_concurrency: int | None = None
    enabled: bool = True


@dataclass
class StreamEvent:
    """A function's `Type: DynamoDB` event: what Lambda's event source mapping does with the
    table's stream."""

    name: str
    # The table's logical id in the template (from `!GetAtt Table.StreamArn`).
    table: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = DEFAULT_STREAM_BATCH_SIZE
    maximum_batching_window: float = 0
    report_batch_item_failures: bool = False
    bisect_batch_on_function_error: bool = False
    # -1 (Lambda's default) retries until the records leave the stream.
    maximum_retry_attempts: int = -1
    # FilterCriteria's patterns, parsed (a record is delivered when any of them matches).
    filters: list[dict] = field(default_factory=list)
    # DestinationConfig.OnFailure.Destination as written (a logical id when it is !GetAtt X.Arn).
    on_failure: str | None = None
    enabled: bool = True


@dataclass
class ScheduleEvent:
    """A function's `Type: Schedule` event: an EventBridge rule on AWS that invokes it on a
    schedule. The local suite runs no schedule (``./dev up`` says so and how to invoke it)."""

    name: str
    # The rule's schedule expression as written: rate(…) or cron(…).
    schedule: str
    enabled: bool = True


@dataclass
class Function:
    logical_id: str
    binary: str
    # Globals merged with the function's own variables, values as written in the template,
    # but for the secrets: see function_environment.
    environment: dict[str, Any]
    # (METHOD, path) of every HttpApi event.
    routes: list[tuple[str, str]]
    sqs_events: list[SqsEvent] = field(default_factory=list)
    # Seconds: the function's Timeout, else Globals', else Lambda's default.
    timeout: int = DEFAULT_FUNCTION_TIMEOUT
    stream_events: list[StreamEvent] = field(default_factory=list)
    schedule_events: list[ScheduleEvent] = field(default_factory=list)


# On AWS a function's environment names its integration's signing secrets by the ARN of a
# Secrets Manager secret (`X_SECRET_ARN`), which the function reads at run time. Locally there
# is no such secret: the function gets `X_HMAC_SECRETS` instead (one of auth.SECRET_VARIABLES),
# holding the integration's development secret itself, and not the ARN variable.
SECRET_ARN_SUFFIX = "_SECRET_ARN"
LOCAL_SECRETS_SUFFIX = "_HMAC_SECRETS"


def template_environment(template: dict, resource: dict) -> dict[str, Any]:
    """A serverless function's variables as the template writes them: Globals overridden by
    its own."""
    globals_function = (template.get("Globals", {}) or {}).get("Function", {}) or {}
    variables = dict((globals_function.get("Environment", {}) or {}).get("Variables", {}) or {})
    properties = resource.get("Properties", {}) or {}
    variables.update((properties.get("Environment", {}) or {}).get("Variables", {}) or {})
    return variables


def local_secret_variable(variable: str) -> str | None:
    """The local variable standing in for ``variable`` when it names a secret's ARN, else None."""
    if not variable.endswith(SECRET_ARN_SUFFIX):
        return None
    local = variable[: -len(SECRET_ARN_SUFFIX)] + LOCAL_SECRETS_SUFFIX
    if local not in auth.SECRET_VARIABLES:
        raise ValueError(
            f"{variable} names a secret the local suite has no development secret for: add "
            f"{local} to SECRET_VARIABLES in infra/local/stakeline_local/auth.py"
        )
    return local


def function_environment(template: dict, resource: dict) -> dict[str, Any]:
    """A serverless function's variables as the local suite runs it: the template's, except
    that each `X_SECRET_ARN` becomes `X_HMAC_SECRETS` set to the local development secret."""
    variables: dict[str, Any] = {}
    written = template_environment(template, resource)
    for variable, value in written.items():
        local = local_secret_variable(variable)
        if local is None:
            variables[variable] = value
            continue
        if local in written:
            raise ValueError(f"{variable} and {local} name the same secrets twice: keep {variable} only")
        variables[local] = auth.integration_secret(auth.SECRET_VARIABLES[local])
    return variables


def functions(template: dict) -> list[Function]:
    """Every AWS::Serverless::Function built from this workspace by cargo-lambda."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        metadata = resource.get("Metadata", {}) or {}
        binary = (metadata.get("BuildProperties", {}) or {}).get("Binary")
        if metadata.get("BuildMethod") != "rust-cargolambda" or not binary:
            raise ValueError(
                f"{logical_id}: expected Metadata BuildMethod rust-cargolambda with BuildProperties.Binary"
            )
        properties = resource.get("Properties", {}) or {}
        routes = []
        sqs_events = []
        stream_events = []
        schedule_events = []
        for name, event in (properties.get("Events", {}) or {}).items():
            event_properties = event.get("Properties", {}) or {}
            if event.get("Type") == "SQS":
                sqs_events.append(_sqs_event(f"{logical_id}.{name}", name, event_properties))
            if event.get("Type") == "DynamoDB":
                stream_events.append(_stream_event(f"{logical_id}.{name}", name, event_properties))
            if event.get("Type") == "Schedule":
                schedule_events.append(_schedule_event(f"{logical_id}.{name}", name, event_properties))
            if event.get("Type") != "HttpApi":
                continue
            if "Method" not in event_properties or "Path" not in event_properties:
                raise ValueError(f"{logical_id}.{name}: HttpApi events need an explicit Method and Path")
            routes.append((str(event_properties["Method"]).upper(), str(event_properties["Path"])))
        globals_function = (template.get("Globals", {}) or {}).get("Function", {}) or {}
        timeout = properties.get("Timeout", globals_function.get("Timeout", DEFAULT_FUNCTION_TIMEOUT))
        if not isinstance(timeout, int):
            raise ValueError(f"{logical_id}: Timeout must be a literal number of seconds, got {timeout!r}")
        found.append(Function(
            logical_id, str(binary), function_environment(template, resource), routes, sqs_events, timeout,
            stream_events, schedule_events,
        ))
    return found


def _schedule_event(where: str, name: str, properties: dict) -> ScheduleEvent:
    schedule = properties.get("Schedule")
    if not isinstance(schedule, str) or not schedule.startswith(("rate(", "cron(")):
        raise ValueError(f"{where}: Schedule events need Schedule as a literal rate(…) or cron(…) expression")
    state = properties.get("State")
    enabled = properties.get("Enabled", True) is not False and state != "DISABLED"
    return ScheduleEvent(name=name, schedule=schedule, enabled=enabled)


def _sqs_event(where: str, name: str, properties: dict) -> SqsEvent:
    queue = properties.get("Queue")
    if isinstance(queue, dict) and "Fn::GetAtt" in queue:
        target = queue["Fn::GetAtt"]
        queue = target.split(".", 1)[0] if isinstance(target, str) else target[0]
    elif isinstance(queue, dict) and "Ref" in queue:
        queue = queue["Ref"]
    if not isinstance(queue, str) or not queue:
        raise ValueError(f"{where}: SQS events need Queue as !GetAtt Queue.Arn, !Ref or an ARN")
    literal = {
        key: properties[key]
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "Enabled")
        if key in properties
    }
    for key, value in literal.items():
        if isinstance(value, (dict, list)):
            raise ValueError(f"{where}: {key} must be a literal value for the local suite, got {value!r}")
    response_types = properties.get("FunctionResponseTypes") or []
    scaling = properties.get("ScalingConfig") or {}
    return SqsEvent(
        name=name,
        queue=queue,
        batch_size=int(literal.get("BatchSize", DEFAULT_SQS_BATCH_SIZE)),
        maximum_batching_window=float(literal.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        maximum_concurrency=scaling.get("MaximumConcurrency"),
        enabled=bool(literal.get("Enabled", True)),
    )


def _logical_id(value: Any, attribute: str) -> str | None:
    """X from `!GetAtt X.<attribute>`, else None."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        logical_id, _, got = target.partition(".") if isinstance(target, str) else (target[0], ".", target[1])
        if got == attribute:
            return logical_id
    return None


def _stream_event(where: str, name: str, properties: dict) -> StreamEvent:
    table = _logical_id(properties.get("Stream"), "StreamArn")
    if table is None:
        raise ValueError(f"{where}: DynamoDB events need Stream as !GetAtt Table.StreamArn for the local suite")
    literal = {
        key: properties[key]
        for key in ("StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds", "Enabled",
                    "BisectBatchOnFunctionError", "MaximumRetryAttempts")
        if key in properties
    }
    for key, value in literal.items():
        if isinstance(value, (dict, list)):
            raise ValueError(f"{where}: {key} must be a literal value for the local suite, got {value!r}")
    starting_position = str(literal.get("StartingPosition", ""))
    if starting_position not in ("TRIM_HORIZON", "LATEST"):
        raise ValueError(f"{where}: StartingPosition must be TRIM_HORIZON or LATEST, got {starting_position!r}")
    filters = []
    for index, item in enumerate((properties.get("FilterCriteria") or {}).get("Filters") or []):
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        if not isinstance(pattern, str):
            raise ValueError(f"{where}: FilterCriteria.Filters[{index}].Pattern must be a JSON string")
        try:
            parsed = json.loads(pattern)
        except ValueError as error:
            raise ValueError(f"{where}: FilterCriteria.Filters[{index}].Pattern is not JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise ValueError(f"{where}: FilterCriteria.Filters[{index}].Pattern must be a JSON object")
        filters.append(parsed)
    on_failure = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    response_types = properties.get("FunctionResponseTypes") or []
    return StreamEvent(
        name=name,
        table=table,
        starting_position=starting_position,
        batch_size=int(literal.get("BatchSize", DEFAULT_STREAM_BATCH_SIZE)),
        maximum_batching_window=float(literal.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in response_types,
        bisect_batch_on_function_error=bool(literal.get("BisectBatchOnFunctionError", False)),
        maximum_retry_attempts=int(literal.get("MaximumRetryAttempts", -1)),
        filters=filters,
        on_failure=_logical_id(on_failure, "Arn") or (on_failure if isinstance(on_failure, str) else None),
        enabled=bool(literal.get("Enabled", True)),
    )


def stream_event_sources(template: dict) -> list[tuple[Function, StreamEvent]]:
    """Every (function, DynamoDB event) pair: the table streams Lambda reads on AWS and the
    local suite emulates."""
    return [(function, event) for function in functions(template) for event in function.stream_events]


def schedule_event_sources(template: dict) -> list[tuple[Function, ScheduleEvent]]:
    """Every (function, Schedule event) pair: what EventBridge invokes on AWS, and the local suite
    does not."""
    return [(function, event) for function in functions(template) for event in function.schedule_events]


def sqs_event_sources(template: dict) -> list[tuple[Function, SqsEvent]]:
    """Every (function, SQS event) pair: what Lambda polls on AWS and the local suite emulates."""
    return [(function, event) for function in functions(template) for event in function.sqs_events]


def http_routes(template: dict) -> dict[tuple[str, str], str]:
    """(METHOD, path) -> binary for every HttpApi route of the template."""
    table: dict[tuple[str, str], str] = {}
    for function in functions(template):
        for route in function.routes:
            if route in table:
                raise ValueError(f"route {route[0]} {route[1]} is declared twice in the template")
            table[route] = function.binary
    return table
