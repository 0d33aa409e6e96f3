"""moto in this process, provisioned from template.yaml through its own CloudFormation.

The ready line (one JSON object on stdout) is the contract with whoever started us: the Rust
integration harness, the pytest fixtures and `./dev up` all read the same shape.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import boto3

from stakeline_local import moto_patches
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import DEFAULT_TEMPLATE, log
from .template import LocalTemplate, derive_local_template, load_template

DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "stakeline-local"
DEFAULT_HOST = "127.0.0.1"
# moto accepts any static credentials; these keep boto3 and the Rust SDK off real ones.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# moto's default account: the account every local resource lives in.
LOCAL_ACCOUNT_ID = "123456789012"
# Values for template parameters that have no default but are needed by local resources.
LOCAL_PARAMETER_VALUES = {
    "JwtIssuer": "stakeline-local",
    "JwtAudience": "stakeline",
    # The settlement queue's only allowed sender; moto does not enforce queue policies.
    "SettlementSenderArn": f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/stakeline-local-aggregator",
    # The suite hands the payout function the sandbox provider's URL instead (suite.py).
    "PayoutApiUrl": "https://payouts.sandbox.invalid",
}

_FINAL_GOOD = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
STACK_PY = Path(__file__).resolve().parents[1] / "stack.py"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def usable_port(host: str, wanted: int, what: str) -> int:
    """``wanted`` if it is free, else any free port (0 always means any)."""
    if wanted == 0 or port_is_free(host, wanted):
        return wanted
    chosen = free_port(host)
    log(f"port {wanted} for {what} is taken; using {chosen} instead")
    return chosen


# How often a long poll (ReceiveMessage with WaitTimeSeconds) looks at its queue again.
LONG_POLL_INTERVAL_SECONDS = 0.05
_SQS_JSON_TARGET = "AmazonSQS.ReceiveMessage"


def _read_body(environ) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return stream.read(int(length))
    return stream.read() if environ.get("wsgi.input_terminated") else b""


def _with_body(environ, body: bytes) -> dict:
    copy = dict(environ)
    copy["wsgi.input"] = io.BytesIO(body)
    copy["CONTENT_LENGTH"] = str(len(body))
    return copy


def _sqs_long_poll(environ) -> tuple[float, bytes, bool] | None:
    """For an SQS ReceiveMessage asking to wait: (seconds, the same request with
    WaitTimeSeconds 0, whether it speaks JSON). None for any other request. Restores the body
    it read, so the request can be served unchanged."""
    is_json = environ.get("HTTP_X_AMZ_TARGET") == _SQS_JSON_TARGET
    is_form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
    if not (is_json or is_form):
        return None
    body = _read_body(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    try:
        if is_json:
            request = json.loads(body or b"{}")
            seconds = request.get("WaitTimeSeconds")
            request["WaitTimeSeconds"] = 0
            rewritten = json.dumps(request).encode()
        else:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            if dict(fields).get("Action") != "ReceiveMessage":
                return None
            seconds = dict(fields).get("WaitTimeSeconds")
            rewritten = urlencode([(k, "0" if k == "WaitTimeSeconds" else v) for k, v in fields]).encode()
        seconds = float(seconds) if seconds is not None else 0.0
    except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
        return None  # let moto answer the malformed request itself
    if not 0 < seconds <= 20:
        return None
    return seconds, rewritten, is_json


def _has_messages(chunks: list[bytes], is_json: bool) -> bool:
    body = b"".join(chunks)
    if not is_json:
        return b"<Message>" in body
    try:
        return bool(json.loads(body or b"{}").get("Messages"))
    except (ValueError, AttributeError):
        return True  # not ours to judge: hand it back


def serialized(app, closing: threading.Event | None = None):
    """Runs one request at a time. moto's backends are not thread-safe: two concurrent
    TransactWriteItems can interleave their condition checks and writes (and moto's
    rollback snapshot fails with "dictionary changed size during iteration"), which would
    let the emulator break the atomicity real DynamoDB guarantees. Connections are still
    accepted concurrently; only the backend work is serialized.

    SQS long polls are the exception that makes this work: moto waits for messages inside
    ReceiveMessage, which under the lock would stall every other request (DynamoDB included)
    for up to 20 s, and no SendMessage could ever end the wait. So a ReceiveMessage with
    WaitTimeSeconds runs here as repeated WaitTimeSeconds=0 receives, each under the lock and
    with the lock free in between, until a message arrives or the time is up, as SQS answers
    it. ``closing`` ends pending long polls at once (empty answer) when the server stops.
    A queue's own ReceiveMessageWaitTimeSeconds (used when a request names none) is still
    waited inside moto: the local template sets none."""
    lock = threading.Lock()
    closing = closing or threading.Event()

    def one_at_a_time(environ, start_response):
        with lock:
            # moto builds whole responses; materialise the body inside the lock too.
            return list(app(environ, start_response))

    def app_one_at_a_time(environ, start_response):
        long_poll = _sqs_long_poll(environ)
        if long_poll is None:
            return one_at_a_time(environ, start_response)
        seconds, body, is_json = long_poll
        deadline = time.monotonic() + seconds
        while True:
            answer: dict = {}

            def capture(status, headers, exc_info=None):
                answer["status"], answer["headers"] = status, headers
                return answer.setdefault("written", []).append

            result = one_at_a_time(_with_body(environ, body), capture)
            chunks = answer.get("written", []) + result
            remaining = deadline - time.monotonic()
            if (
                not answer["status"].startswith("200")
                or _has_messages(chunks, is_json)
                or remaining <= 0
                or closing.wait(min(LONG_POLL_INTERVAL_SECONDS, remaining))
            ):
                start_response(answer["status"], answer["headers"])
                return chunks

    return app_one_at_a_time


class MotoServer:
    """moto's server in a daemon thread, like moto's ThreadedMotoServer, but binding in the
    caller's thread so a taken port fails at once instead of hanging, and port 0 works."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._closing = threading.Event()
        moto_patches.install()
        app = serialized(DomainDispatcherApplication(create_backend_app), self._closing)
        self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        self._closing.set()  # pending SQS long polls answer now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def isolate_from_real_aws() -> None:
    """Forgets the caller's AWS_* settings (AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB…): local
    tooling talks to moto only, and a profile that exists only on a laptop must not break it."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]


def moto_can_create(resource_type: str) -> bool:
    """Whether moto's CloudFormation creates ``resource_type`` (it skips the others with a
    warning, e.g. AWS::SQS::QueuePolicy in moto 5.2.5, and lists them with an empty id)."""
    from moto.cloudformation.parsing import get_model_map

    return resource_type.startswith("Custom::") or resource_type in get_model_map()


def aws_client(service: str, endpoint: str, region: str = DEFAULT_REGION):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@dataclass
class Provisioned:
    endpoint: str
    region: str
    stack: str
    outputs: dict[str, str]
    resources: dict[str, str]
    # (function logical id, variable) -> value moto resolved for it.
    environment: dict[tuple[str, str], str] = field(default_factory=dict)

    def ready(self) -> dict:
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "stack": self.stack,
            "outputs": self.outputs,
            "resources": self.resources,
        }


def _stack_status(cfn, stack: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def _wait_for_stack(cfn, stack: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = _stack_status(cfn, stack) or "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def with_local_url(value: str, remote_url: str, local_url: str) -> str:
    """``value`` with every whole occurrence of ``remote_url`` replaced by ``local_url``: the
    output itself, or a URL within other text (not one that merely starts with it)."""
    return re.sub(re.escape(remote_url) + r"(?![\w.~/-])", lambda _: local_url, value)


def _failure_reasons(cfn, stack: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except ClientError:
        return ""
    reasons = [
        f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
        for e in events
        if e.get("ResourceStatus", "").endswith("FAILED")
    ]
    return "; ".join(reasons)


def _parameter_values(local: LocalTemplate, overrides: dict[str, str]) -> list[dict]:
    values = []
    for name, declaration in local.body.get("Parameters", {}).items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in declaration:
            continue
        elif name in LOCAL_PARAMETER_VALUES:
            value = LOCAL_PARAMETER_VALUES[name]
        else:
            raise ValueError(f"parameter {name} has no default: pass --parameter {name}=VALUE")
        values.append({"ParameterKey": name, "ParameterValue": str(value)})
    return values


def _apply_time_to_live(endpoint: str, region: str, local_resources: dict, resources: dict[str, str]) -> None:
    """moto's CloudFormation ignores a table's TimeToLiveSpecification: set it with
    UpdateTimeToLive, so DescribeTimeToLive answers as on AWS. moto never deletes expired
    items; locally TTL is recorded, not enforced."""
    dynamodb = None
    for logical_id, resource in local_resources.items():
        if resource.get("Type") != "AWS::DynamoDB::Table" or logical_id not in resources:
            continue
        specification = (resource.get("Properties") or {}).get("TimeToLiveSpecification") or {}
        attribute = specification.get("AttributeName")
        if specification.get("Enabled") is not True or not isinstance(attribute, str):
            continue
        dynamodb = dynamodb or aws_client("dynamodb", endpoint, region)
        table = resources[logical_id]
        current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
            continue
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True}
        )


def provision(
    endpoint: str,
    template: dict,
    *,
    region: str = DEFAULT_REGION,
    stack: str = DEFAULT_STACK,
    parameters: dict[str, str] | None = None,
) -> Provisioned:
    """Creates (or brings up to date) the local stack; safe to call again."""
    local = derive_local_template(template, moto_can_create)
    log(f"local stack {stack}: {len(local.kept)} resources ({', '.join(local.kept)}); "
        f"{len(local.dropped)} left to SAM/cargo-lambda")
    if local.unsupported:
        types = template["Resources"]
        log("not created locally (moto's CloudFormation has no support for them; nothing "
            "enforces them locally): "
            + ", ".join(f"{i} ({types[i]['Type']})" for i in local.unsupported))
    cfn = aws_client("cloudformation", endpoint, region)
    request = {
        "StackName": stack,
        "TemplateBody": json.dumps(local.body),
        "Parameters": _parameter_values(local, parameters or {}),
    }
    status = _stack_status(cfn, stack)
    if status is not None and status not in _FINAL_GOOD | {"UPDATE_ROLLBACK_COMPLETE"}:
        log(f"stack {stack} is {status}; replacing it")
        cfn.delete_stack(StackName=stack)
        _wait_for_stack(cfn, stack)
        status = None
    if status is None:
        cfn.create_stack(**request)
    else:
        try:
            cfn.update_stack(**request)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
    status = _wait_for_stack(cfn, stack)
    if status not in _FINAL_GOOD:
        raise RuntimeError(f"stack {stack} ended {status}: {_failure_reasons(cfn, stack)}")

    description = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    all_outputs = {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])}
    resources = {}
    resource_types = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            if not summary.get("LogicalResourceId"):
                continue  # a resource moto skipped
            resources[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
            resource_types[summary["LogicalResourceId"]] = summary["ResourceType"]

    # moto reports queue URLs with the AWS host name; hand out the local ones instead, in
    # outputs that are a URL and in those that hold URLs among other text (ops' OPS_QUEUES).
    queues = [i for i, kind in resource_types.items() if kind == "AWS::SQS::Queue"]
    if queues:
        sqs = aws_client("sqs", endpoint, region)
        for logical_id in queues:
            remote_url = resources[logical_id]
            local_url = sqs.get_queue_url(QueueName=remote_url.rstrip("/").rsplit("/", 1)[-1])["QueueUrl"]
            resources[logical_id] = local_url
            all_outputs = {k: with_local_url(v, remote_url, local_url) for k, v in all_outputs.items()}

    _apply_time_to_live(endpoint, region, local.body["Resources"], resources)

    environment = {
        target: all_outputs[key]
        for key, target in local.environment_outputs.items()
        if key in all_outputs
    }
    outputs = {k: v for k, v in all_outputs.items() if k not in local.environment_outputs}
    return Provisioned(endpoint, region, stack, outputs, resources, environment)


def start(
    *,
    port: int = 0,
    host: str = DEFAULT_HOST,
    region: str = DEFAULT_REGION,
    stack: str = DEFAULT_STACK,
    template_path: Path | str = DEFAULT_TEMPLATE,
    parameters: dict[str, str] | None = None,
) -> tuple[MotoServer, Provisioned]:
    """Starts moto and provisions the template: what every caller of the emulator needs."""
    server = MotoServer(host, usable_port(host, port, "the AWS emulator"))
    endpoint = server.start()
    log(f"moto is listening on {endpoint}")
    try:
        provisioned = provision(
            endpoint,
            load_template(template_path),
            region=region,
            stack=stack,
            parameters=parameters,
        )
    except BaseException:
        server.stop()
        raise
    return server, provisioned


class StopRequest:
    """Set when something asks a long-running command (the emulator, `up`) to end; ``why``
    says what: a signal's name, or the reason given to ``set``. None until then."""

    def __init__(self, event: threading.Event | None = None):
        self.event = event or threading.Event()
        self.why: str | None = None

    def set(self, why: str) -> None:
        self.why = why
        self.event.set()

    def on_signals(self) -> StopRequest:
        """From now on SIGINT, SIGTERM and SIGHUP (Ctrl-C, kill, a closed terminal) set it."""
        def on_signal(number, _frame):
            self.set(signal.Signals(number).name)

        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, on_signal)
        return self


def wait_for_stop(lifeline: bool, extra: threading.Event | None = None) -> str:
    """Blocks until SIGINT/SIGTERM/SIGHUP, or stdin EOF with ``lifeline``; returns why."""
    stop = StopRequest(extra).on_signals()
    if lifeline:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set("stdin closed")

        threading.Thread(target=watch_stdin, name="lifeline", daemon=True).start()
    # A timed wait keeps the main thread responsive to signals.
    while not stop.event.wait(0.5):
        pass
    return stop.why or "stopped"


def run(args) -> int:
    """`stack.py emulator`: start, provision, print the ready line, block."""
    isolate_from_real_aws()
    server, provisioned = start(
        port=args.port,
        region=args.region,
        stack=args.stack,
        template_path=args.template,
        parameters=args.parameters,
    )
    try:
        print(json.dumps(provisioned.ready()), flush=True)
        why = wait_for_stop(args.lifeline)
        log(f"{why}: stopping the emulator")
    finally:
        server.stop()
    return 0


def spawn(*extra_args: str, python: str = sys.executable) -> tuple[subprocess.Popen, dict]:
    """`stack.py emulator --lifeline` as a child, the way the Rust harness runs it.

    Returns the process and its ready line; ``close`` stops it.
    """
    process = subprocess.Popen(
        [python, str(STACK_PY), "emulator", "--port", "0", "--lifeline", *extra_args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError(f"the emulator exited before its ready line (code {process.wait()})")
    return process, json.loads(line)


def close(process: subprocess.Popen, timeout: float = 15) -> int:
    """Closes the lifeline (stdin) and waits for the emulator to exit by itself."""
    process.stdin.close()
    try:
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
