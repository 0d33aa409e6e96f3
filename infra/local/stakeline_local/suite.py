"""`./dev up`: the whole local suite, moto plus `cargo lambda watch`, from template.yaml.

Each function gets the environment the template gives it on AWS, with the table, queue and bus
names moto provisioned, and the local credentials of ``auth`` where AWS would use the JWT
authorizer or Secrets Manager. Every SQS event of the template gets a queue poller and every
DynamoDB event a stream reader (``pollers``); EventBridge rules deliver to their SQS targets
inside moto, at PutEvents time. Schedule events run nowhere locally: the banner lists them with
the command that invokes each function once. The payout function's payment provider is the sandbox of
``sandbox_provider``, whose results come back to the API front signed. The operator console
(``console_server``) serves the built ``console/`` app with ``/ops`` forwarded to the API front.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

from . import REPO_ROOT, STATE_DIR, log
from . import auth, console_server, emulator, gateway, pollers, routes, sandbox_provider
from .template import functions, http_routes, load_template, schedule_event_sources

# Variables the local suite sets instead of the template's value.
LOCAL_OVERRIDES = {
    "PLAYER_AUTH": "local-hs256",
    **{variable: auth.integration_secret(name) for variable, name in auth.SECRET_VARIABLES.items()},
}
# Variables only the local suite needs.
LOCAL_ADDITIONS = {"LOCAL_JWT_SECRET": auth.LOCAL_JWT_SECRET}

EXAMPLE_PLAYER = "5f0c3e2a-8b1d-4c7e-9a6f-2d4b8e1c7a90"
# A message body to show in the banner for a queue consumed by this binary.
EXAMPLE_MESSAGES = {
    "settle-queue": (
        '{"player_id":"%s","bet_id":"bet-0001","settlement_id":"stl-0001","kind":"win","amount":1200}'
        % EXAMPLE_PLAYER
    ),
    # What the first-deposit rule delivers (an EventBridge envelope); normally a first deposit
    # sends it: the publisher puts DepositCompleted on the bus and the rule routes it.
    "bonus-award": (
        '{"version":"0","id":"00000000-0000-0000-0000-000000000001","detail-type":"DepositCompleted",'
        '"source":"stakeline.wallet","account":"123456789012","time":"2026-11-23T00:00:01Z",'
        '"region":"us-east-1","resources":[],"detail":{"event_id":"DepositCompleted:dep-0001",'
        '"correlation_id":"local","occurred_at":"2026-11-23T00:00:00.000Z","player_id":"%s",'
        '"deposit_id":"dep-0001","amount":5000,"currency":"EUR","first_deposit":true,'
        '"entry_id":"%s:000000000001"}}' % (EXAMPLE_PLAYER, EXAMPLE_PLAYER)
    ),
}
# Per-run files, so suites can run side by side (a developer's and the end-to-end tests').
STATE_FILE = STATE_DIR / f"suite-{os.getpid()}.json"
ENV_FILE = STATE_DIR / f"suite-{os.getpid()}.env"
STOP_GRACE_SECONDS = 10


def aws_environment(provisioned: emulator.Provisioned) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": provisioned.endpoint,
        "AWS_REGION": provisioned.region,
        "AWS_DEFAULT_REGION": provisioned.region,
        **emulator.DUMMY_CREDENTIALS,
    }


def function_environments(
    template: dict, provisioned: emulator.Provisioned, overrides: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """binary -> the environment it runs with locally. ``overrides`` are more variables the local
    suite sets instead of the template's value, known only once it runs (the sandbox payment
    provider's URL), for the functions that declare them."""
    local = {**LOCAL_OVERRIDES, **(overrides or {})}
    environments = {}
    for function in functions(template):
        environment = {}
        for variable, value in function.environment.items():
            if variable in local:
                environment[variable] = local[variable]
            elif isinstance(value, (str, int, float, bool)):
                environment[variable] = str(value).lower() if isinstance(value, bool) else str(value)
            elif (function.logical_id, variable) in provisioned.environment:
                environment[variable] = provisioned.environment[(function.logical_id, variable)]
            else:
                raise ValueError(
                    f"{function.logical_id}: {variable} cannot be resolved locally (it needs a "
                    "resource moto does not provision or a secret); add a local value to "
                    "LOCAL_OVERRIDES in infra/local/stakeline_local/suite.py"
                )
        environment.update(LOCAL_ADDITIONS)
        environment.update(aws_environment(provisioned))
        environments[function.binary] = environment
    return environments


def shared_environment(environments: dict[str, dict[str, str]]) -> dict[str, str]:
    """`cargo lambda watch` gives every function one environment: merge, refusing conflicts."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for binary, environment in sorted(environments.items()):
        for variable, value in environment.items():
            if variable in merged and merged[variable] != value:
                raise ValueError(
                    f"{variable} differs between {owner[variable]} ({merged[variable]!r}) and "
                    f"{binary} ({value!r}); the local suite runs all functions with one environment"
                )
            merged[variable] = value
            owner.setdefault(variable, binary)
    return merged


# `cargo lambda watch --env-file` reads the file with the env-file-reader crate (0.3): an
# unquoted value is any run of characters but whitespace, quotes (' " `), # and =; a value in
# single quotes or backticks is taken as it is, except that the two characters backslash-n
# become a newline and a backslash before the quote becomes the quote.
_ENV_FILE_UNQUOTED = re.compile(r"[^\s='`\"#]+")


def env_file_value(variable: str, value: str) -> str:
    """``value`` as env-file-reader reads it back unchanged (JSON values need quoting)."""
    if "\n" in value or not value:
        raise ValueError(f"{variable}: empty or multi-line values cannot go in an env file")
    if _ENV_FILE_UNQUOTED.fullmatch(value) and value != "export":
        return value
    for quote in ("'", "`"):
        if quote not in value and "\\" not in value:
            return f"{quote}{value}{quote}"
    raise ValueError(f"{variable}: a value holding both ' and ` or a backslash cannot go in an env file")


def write_env_file(path: Path, environment: dict[str, str]) -> None:
    lines = [f"{variable}={env_file_value(variable, value)}" for variable, value in sorted(environment.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running, and not a zombie (an exited child nobody reaped yet is done)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def stop_process_tree(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group led by ``pid`` and anything below it, then SIGKILL leftovers."""
    tree = [pid, *_descendants(pid)]
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass
    for member in tree:
        try:
            os.kill(member, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(member) for member in tree):
        time.sleep(0.1)
    for member in tree:
        try:
            os.kill(member, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_stale_suites() -> None:
    """A previous `up` killed with SIGKILL can leave its `cargo lambda watch` running: stop the
    watch of every run whose `up` process is gone, and forget that run."""
    for state_file in STATE_DIR.glob("suite-*.json"):
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(state.get("up_pid"), int) and _alive(state["up_pid"]):
            continue  # a suite that is still running
        pid = state.get("watch_pid")
        if isinstance(pid, int) and _alive(pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                command = ""
            if "cargo-lambda" in command:
                log(f"stopping a stale cargo lambda watch left by an earlier run (pid {pid})")
                stop_process_tree(pid)
        state_file.unlink(missing_ok=True)
        state_file.with_suffix(".env").unlink(missing_ok=True)


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived; unwind and clean up."""


def _run_step(command: list[str], stop: threading.Event, env: dict[str, str]) -> None:
    child = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL)
    while child.poll() is None:
        if stop.wait(0.2):
            child.terminate()
            child.wait()
            raise Stopped()
    if stop.is_set():
        raise Stopped()
    if child.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed with exit code {child.returncode}")


def local_queues(template: dict, provisioned: emulator.Provisioned) -> dict[str, str]:
    """Logical id -> URL on the emulator, for every queue of the template provisioned locally."""
    return {
        logical_id: provisioned.resources[logical_id]
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue" and logical_id in provisioned.resources
    }


def local_event_buses(template: dict, provisioned: emulator.Provisioned) -> dict[str, str]:
    """Logical id -> name, for every EventBridge bus of the template provisioned locally."""
    return {
        logical_id: provisioned.resources[logical_id]
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Events::EventBus" and provisioned.resources.get(logical_id)
    }


def _bus_section(template: dict, buses: dict[str, str]) -> str:
    if not buses:
        return ""
    lines = ["", "Event buses (on the emulator; rules deliver to their SQS targets at PutEvents time):"]
    resources = template["Resources"]
    for logical_id, name in sorted(buses.items()):
        lines.append(f"  {logical_id:<28} {name}")
        for rule_id, rule in sorted(resources.items()):
            properties = rule.get("Properties") or {}
            if rule.get("Type") != "AWS::Events::Rule" or logical_id not in repr(properties.get("EventBusName")):
                continue
            targets = [
                (target.get("Arn") or {}).get("Fn::GetAtt", ["?"])[0]
                for target in properties.get("Targets") or []
                if isinstance(target.get("Arn"), dict)
            ]
            pattern = json.dumps(properties.get("EventPattern"), separators=(",", ":"))
            lines.append(f"    rule {rule_id} -> {', '.join(targets) or '?'}: {pattern}")
    return "\n".join(lines) + "\n"


def _stream_section(stream_specs: list[pollers.StreamSourceSpec]) -> str:
    if not stream_specs:
        return ""
    lines = ["", "Table streams (read like Lambda's event source mapping; one line per batch below):"]
    for spec in stream_specs:
        lines.append(f"  {spec.event.table} stream -> {spec.function} ({spec.summary()})")
    return "\n".join(lines) + "\n"


def _schedule_section(template: dict | None, port: str) -> str:
    """The functions EventBridge invokes on a schedule on AWS: locally nothing invokes them."""
    found = schedule_event_sources(template) if template else []
    if not found:
        return ""
    lines = ["", "Schedules (EventBridge rules on AWS; the local suite runs none: invoke by hand):"]
    for function, event in found:
        state = "" if event.enabled else " (disabled)"
        lines.append(f"  {function.logical_id}.{event.name} {event.schedule}{state} -> {function.binary}")
        lines.append(f"    .venv/bin/cargo-lambda lambda invoke {function.binary} -A 127.0.0.1 -P {port} --data-ascii '{{}}'")
    return "\n".join(lines) + "\n"


def _sandbox_section(url: str | None) -> str:
    if not url:
        return ""
    amounts = "\n".join(
        f"  amount ending in {ending:02d}: {sandbox_provider.TEST_AMOUNT_EFFECTS[outcome]}"
        for ending, outcome in sorted(sandbox_provider.TEST_AMOUNTS.items())
    )
    return f"""
Payouts go to the sandbox payment provider ({sandbox_provider.URL_VARIABLE}={url}), which reports
each result to the API, signed. By the last two digits of the amount in minor units:
{amounts}
  any other amount: {sandbox_provider.TEST_AMOUNT_EFFECTS[sandbox_provider.PAID]}
  ./dev sandbox down   (every payout gets 503)    ./dev sandbox up    ./dev sandbox status
"""


def _queue_section(queues: dict[str, str], specs: list[pollers.EventSourceSpec]) -> str:
    if not queues:
        return ""
    consumers = {spec.event.queue: spec for spec in specs}
    lines = ["", "Queues (on the emulator):"]
    for logical_id, url in sorted(queues.items()):
        spec = consumers.get(logical_id)
        role = (f"-> {spec.function} (polled: batch {spec.event.batch_size}, "
                f"window {spec.event.maximum_batching_window:g} s)") if spec else "(not polled)"
        lines.append(f"  {logical_id:<28} {role}\n    {url}")
    for spec in specs:
        body = EXAMPLE_MESSAGES.get(spec.function, "{}")
        lines.append(f"Send to {spec.event.queue} (the poller invokes {spec.function}; one line per batch below):")
        lines.append(f"  ./dev enqueue {spec.event.queue} --body '{body}'")
    return "\n".join(lines) + "\n"


def banner(
    base_url: str,
    provisioned: emulator.Provisioned,
    table: str,
    route_table: dict,
    queues: dict[str, str] | None = None,
    specs: list[pollers.EventSourceSpec] | None = None,
    *,
    template: dict | None = None,
    buses: dict[str, str] | None = None,
    stream_specs: list[pollers.StreamSourceSpec] | None = None,
    sandbox: str | None = None,
    console: str | None = None,
) -> str:
    player = EXAMPLE_PLAYER
    port = base_url.rstrip("/").rsplit(":", 1)[-1]
    route_lines = "\n".join(
        f"  {method:<6} {path:<45} -> {binary}"
        for (method, path), binary in sorted(route_table.items(), key=lambda r: (r[0][1], r[0][0]))
    )
    queue_section = _queue_section(queues or {}, specs or [])
    bus_section = _bus_section(template or {"Resources": {}}, buses or {})
    stream_section = _stream_section(stream_specs or [])
    schedule_section = _schedule_section(template, port)
    sandbox_line = f"\n  Payouts      {sandbox}  (sandbox payment provider)" if sandbox else ""
    console_line = (f"\n  Console      {console}  (operator console: sign in with any staff id, e.g. staff-7)"
                    if console else "")
    return f"""
Stakeline local suite is up.
  API          {base_url}{console_line}
  AWS (moto)   {provisioned.endpoint}  region {provisioned.region}  stack {provisioned.stack}
  Table        {table}{sandbox_line}
Routes:
{route_lines}
{stream_section}{bus_section}{queue_section}{schedule_section}
Player routes want a local token (HS256, secret {auth.LOCAL_JWT_SECRET!r}, dev only):
  PLAYER={player}
  TOKEN=$(./dev token $PLAYER)
  curl -s -X POST {base_url}/players -H "Authorization: Bearer $TOKEN" \\
    -H 'Content-Type: application/json' \\
    --data-binary '{{"email":"ada@example.com","date_of_birth":"1990-04-12","country":"MT","currency":"EUR"}}'
  curl -s {base_url}/players/$PLAYER/wallet -H "Authorization: Bearer $TOKEN"

Deposits are signed by the payment provider (`./dev sign` prints both headers; curl reads them with -H @-):
  BODY='{{"deposit_id":"dep-0001","amount":5000,"currency":"EUR"}}'
  ./dev sign --method POST --path /players/$PLAYER/deposits --body "$BODY" | curl -s -X POST {base_url}/players/$PLAYER/deposits \\
    -H @- -H 'Content-Type: application/json' --data-binary "$BODY"

Bets and settlements are signed by the game aggregator (`./dev sign --secret aggregator`):
  BODY='{{"bet_id":"bet-0001","round_id":"round-1","game_id":"starburst","amount":1000,"currency":"EUR"}}'
  ./dev sign --secret aggregator --method POST --path /players/$PLAYER/bets --body "$BODY" | curl -s -X POST {base_url}/players/$PLAYER/bets \\
    -H @- -H 'Content-Type: application/json' --data-binary "$BODY"
{_sandbox_section(sandbox)}
Replay a sample event: ./dev sign-event events/deposit/deposit.json > /tmp/deposit.json
  then: .venv/bin/cargo-lambda lambda invoke deposit -A 127.0.0.1 -P {port} --data-file /tmp/deposit.json
Audit the table: ./dev audit
Ctrl-C stops everything.
"""


def _write_json_atomically(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def run(args) -> int:
    emulator.isolate_from_real_aws()
    _, report = routes.check(args.template, args.cargo_toml)
    if report:
        print(report, file=sys.stderr)
        return 1
    template = load_template(args.template)
    route_table = http_routes(template)

    scripts = sysconfig.get_path("scripts")
    # --cargo-lambda is for the tooling's own tests (a stand-in that serves canned answers).
    cargo_lambda = Path(getattr(args, "cargo_lambda", None) or Path(scripts) / "cargo-lambda")
    if not cargo_lambda.exists():
        log(f"{cargo_lambda} is missing: run ./dev up (it installs the pinned tools into the venv)")
        return 1
    if shutil.which("cargo") is None:
        log("cargo is not on PATH: install the Rust toolchain with rustup")
        return 1

    stop_request = emulator.StopRequest().on_signals()
    stop = stop_request.event

    STATE_DIR.mkdir(parents=True, exist_ok=True)
    stop_stale_suites()
    ready_file = Path(args.ready_file).resolve() if args.ready_file else None
    if ready_file:
        ready_file.unlink(missing_ok=True)

    server = None
    watch = None
    front = None
    console = None
    sandbox = None
    sources: list[pollers.SqsEventSource | pollers.StreamEventSource] = []
    try:
        server, provisioned = emulator.start(
            port=args.emulator_port,
            region=args.region,
            stack=args.stack,
            template_path=args.template,
            parameters=args.parameters,
        )
        # The payment provider the payout function sends to; it reports results to the API
        # front once that serves.
        provider_port = getattr(args, "provider_port", 0) or 0
        sandbox = sandbox_provider.SandboxProvider(
            emulator.usable_port("127.0.0.1", provider_port, "the sandbox payment provider"), None
        ).start()
        overrides = {sandbox_provider.URL_VARIABLE: sandbox.url}
        environment = shared_environment(function_environments(template, provisioned, overrides))
        write_env_file(ENV_FILE, environment)
        table = provisioned.outputs.get("WalletTableName") or environment.get("TABLE_NAME", "")
        queues = local_queues(template, provisioned)
        buses = local_event_buses(template, provisioned)
        specs = pollers.event_source_specs(template, provisioned.resources)
        stream_specs = pollers.stream_source_specs(template, provisioned.resources)
        # Where the emulated resources are: in the state file as soon as the emulator holds them
        # (what `./dev enqueue` and `./dev audit` need), and in the ready file.
        emulated = {
            "endpoint": provisioned.endpoint,
            "region": provisioned.region,
            "stack": provisioned.stack,
            "table": table,
            "queues": queues,
            "event_buses": buses,
            "sandbox_provider": sandbox.url,
        }
        state = {"up_pid": os.getpid(), **emulated}
        _write_json_atomically(STATE_FILE, state)

        process_env = dict(os.environ)  # without AWS_*: see emulator.isolate_from_real_aws
        process_env["PATH"] = scripts + os.pathsep + process_env.get("PATH", "")
        binaries = sorted({f.binary for f in functions(template)})
        if not args.no_build:
            # The console first: a machine without npm is told so before minutes of cargo.
            if not getattr(args, "no_console", False):
                console_server.ensure_built(lambda step: _run_step(step, stop, process_env))
            # One build per binary, exactly as `cargo lambda watch` runs them (`cargo run --bin X`),
            # so features unify the same way and the first request does not compile anything.
            for index, binary in enumerate(binaries, 1):
                log(f"building {binary} ({index}/{len(binaries)})")
                _run_step(["cargo", "build", "--bin", binary], stop, process_env)

        port = emulator.usable_port("127.0.0.1", args.port, "the API") or emulator.free_port()
        # cargo lambda watch listens on a private port; the API front (gateway.py) on `port`.
        watch_port = emulator.free_port()
        command = [
            str(cargo_lambda), "lambda", "watch",
            "--invoke-address", "127.0.0.1",
            "--invoke-port", str(watch_port),
            "--env-file", str(ENV_FILE),
        ]
        if args.no_reload:
            command.append("--ignore-changes")
        log(f"starting: {' '.join(command)}")
        watch = subprocess.Popen(
            command, cwd=REPO_ROOT, env=process_env, stdin=subprocess.DEVNULL, start_new_session=True
        )
        state.update({"watch_pid": watch.pid, "port": port})
        _write_json_atomically(STATE_FILE, state)

        deadline = time.monotonic() + args.startup_timeout
        while not _port_answers(watch_port):
            if watch.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited with code {watch.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered on port {watch_port} after {args.startup_timeout} s")
            if stop.wait(0.2):
                raise Stopped()
        front = gateway.Gateway(port, watch_port).start()

        base_url = f"http://127.0.0.1:{port}"
        sandbox.api_base_url = base_url
        if not getattr(args, "no_console", False):
            console_port = getattr(args, "console_port", 0) or 0
            console = console_server.ConsoleServer(
                emulator.usable_port("127.0.0.1", console_port, "the operator console"), base_url
            ).start()
        # Lambda's event source mappings: one poller per SQS event and one stream reader per
        # DynamoDB event of the template.
        sources = pollers.start_event_sources(specs, provisioned.endpoint, provisioned.region, base_url)
        sources += pollers.start_stream_sources(stream_specs, provisioned.endpoint, provisioned.region, base_url)
        print(banner(base_url, provisioned, table, route_table, queues, specs, template=template,
                     buses=buses, stream_specs=stream_specs, sandbox=sandbox.url,
                     console=console.url if console else None), flush=True)
        ready = {
            "base_url": base_url,
            "console_url": console.url if console else None,
            **emulated,
            "event_sources": [spec.describe() for spec in specs],
            "stream_sources": [spec.describe() for spec in stream_specs],
        }
        state.update(ready)
        _write_json_atomically(STATE_FILE, state)
        if ready_file:
            _write_json_atomically(ready_file, ready)
        while not stop.wait(0.5):
            if watch.poll() is not None:
                raise RuntimeError(f"cargo lambda watch exited with code {watch.returncode}")
        raise Stopped()
    except Stopped:
        log(f"{stop_request.why or 'stopped'}: shutting down")
        return 0
    except (RuntimeError, ValueError) as error:
        log(f"error: {error}")
        return 1
    finally:
        # Pollers and the payment provider first (no new batch or result starts), then the
        # functions (an invocation in flight fails, so its batch is not deleted), then moto
        # (which also ends pending long polls).
        for source in sources:
            source.request_stop()
        if sandbox is not None:
            sandbox.stop()
        if console is not None:
            console.stop()
        if front is not None:
            front.stop()
        if watch is not None:
            stop_process_tree(watch.pid)
        STATE_FILE.unlink(missing_ok=True)
        ENV_FILE.unlink(missing_ok=True)
        if ready_file:
            ready_file.unlink(missing_ok=True)
        if server is not None:
            server.stop()
        for source in sources:
            if not source.stop(timeout=STOP_GRACE_SECONDS):
                log(f"the {source.label} poller did not stop within {STOP_GRACE_SECONDS} s")


def spawn(ready_file: Path, *extra_args: str, timeout: float = 900) -> tuple[subprocess.Popen, dict]:
    """`stack.py up` as a child on free ports, for end-to-end tests: returns the process and its
    ready file's content once it serves. Stop it with ``stop``."""
    ready_file = Path(ready_file)
    ready_file.unlink(missing_ok=True)
    process = subprocess.Popen(
        [sys.executable, str(emulator.STACK_PY), "up", "--port", "0", "--emulator-port", "0",
         "--console-port", "0", "--no-reload", "--ready-file", str(ready_file), *extra_args],
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the local suite exited with code {process.returncode} before serving")
        if time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"the local suite was not serving after {timeout} s")
        time.sleep(0.2)
    return process, json.loads(ready_file.read_text())


def stop(process: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM, which `up` turns into a clean shutdown of everything it started."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
