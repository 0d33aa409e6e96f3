#!/usr/bin/env python3
"""Stakeline's local tooling, driven by template.yaml. Usually called through ./dev.

  emulator      moto provisioned from the template; prints one JSON ready line
  up            the whole local suite: emulator + cargo lambda watch
  check-routes  Cargo.toml's cargo-lambda router == the template's HttpApi routes
  local-template  print the template moto provisions (the SAM-free part)
  token         a local player JWT, or an operator's (--operator STAFF_ID)
  sign          X-Stakeline-Timestamp/-Signature headers for a request (method, path, body)
  sign-event    a sample API Gateway or SQS event with fresh signatures and token
  enqueue       send a message to a queue of the running local suite (settlements signed)
  redrive       move a dead-letter or failure queue's messages back (running local suite)
  audit         run the audit's reconcile binary against the running local suite's table
  sandbox       the running local suite's sandbox payment provider: up, down or status
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stakeline_local import DEFAULT_CARGO_TOML, DEFAULT_TEMPLATE, log  # noqa: E402
from stakeline_local import auth  # noqa: E402


def _parameters(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"--parameter wants Name=Value, got {pair!r}")
        values[name] = value
    return values


def _add_stack_options(parser: argparse.ArgumentParser) -> None:
    from stakeline_local.emulator import DEFAULT_REGION, DEFAULT_STACK

    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--stack", default=DEFAULT_STACK, help="stack name in moto")
    parser.add_argument(
        "--parameter", dest="parameter_pairs", action="append", default=[], metavar="NAME=VALUE",
        help="template parameter override (repeatable)",
    )


def cmd_emulator(args) -> int:
    from stakeline_local import emulator

    args.parameters = _parameters(args.parameter_pairs)
    return emulator.run(args)


def cmd_up(args) -> int:
    from stakeline_local import suite

    args.parameters = _parameters(args.parameter_pairs)
    return suite.run(args)


def cmd_check_routes(args) -> int:
    from stakeline_local import routes

    count, report = routes.check(args.template, args.cargo_toml)
    if report:
        print(report, file=sys.stderr)
        return 1
    print(f"routes match: {count} routes in {args.template.name} and {args.cargo_toml.name}")
    return 0


def cmd_local_template(args) -> int:
    from stakeline_local.emulator import moto_can_create
    from stakeline_local.template import derive_local_template, load_template

    local = derive_local_template(load_template(args.template), moto_can_create)
    print(json.dumps(local.body, indent=2))
    log(f"kept: {', '.join(local.kept)}; dropped: {', '.join(local.dropped)}")
    if local.unsupported:
        log(f"of which moto's CloudFormation cannot create: {', '.join(local.unsupported)}")
    return 0


def cmd_token(args) -> int:
    if args.operator:
        if args.player_id:
            log("./dev token takes a PLAYER_ID or --operator STAFF_ID, not both")
            return 2
        print(auth.mint_token(args.operator, ttl=args.ttl, scope=auth.OPERATOR_SCOPE))
        return 0
    if not args.player_id:
        log("./dev token needs a PLAYER_ID (or --operator STAFF_ID)")
        return 2
    print(auth.mint_token(args.player_id, ttl=args.ttl))
    return 0


def _read_body(args) -> bytes:
    if args.body is not None:
        return args.body.encode("utf-8")
    if args.body_file == "-":
        return sys.stdin.buffer.read()
    return Path(args.body_file).read_bytes()


def cmd_sign(args) -> int:
    headers = auth.signed_headers(
        _read_body(args), method=args.method, path=args.path, integration=args.secret, timestamp=args.timestamp
    )
    # stdout holds exactly the headers, so `./dev sign … | curl -H @- …` works.
    for name, value in headers.items():
        print(f"{name}: {value}")
    fragment = " ".join(f"-H '{name}: {value}'" for name, value in headers.items())
    print(f"curl fragment for {args.method.upper()} {args.path} only "
          f"(valid {auth.SIGNATURE_WINDOW_SECONDS} s): {fragment}", file=sys.stderr)
    return 0


def cmd_sign_event(args) -> int:
    from stakeline_local.events import resign_event
    from stakeline_local.template import load_template

    event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    resign_event(event, load_template(args.template), timestamp=args.timestamp, integration=args.secret)
    text = json.dumps(event, indent=2) + "\n"
    target = args.event if args.in_place else args.output
    if target:
        Path(target).write_text(text, encoding="utf-8")
        log(f"wrote {target}")
    else:
        sys.stdout.write(text)
    return 0


def _suite(args) -> dict:
    from stakeline_local import running

    return running.find_suite(args.ready_file, args.state_dir)


def cmd_enqueue(args) -> int:
    from stakeline_local import emulator, running

    emulator.isolate_from_real_aws()  # moto only: no profile or endpoint of the caller's
    try:
        suite = _suite(args)
    except running.NoSuite as error:
        log(str(error))
        return 2
    body = _read_body(args).decode("utf-8")
    try:
        json.loads(body)
    except ValueError:
        log("note: the body is not JSON (sent anyway: a poison message is a fair test)")
    url, message_id, signed = running.enqueue(suite, args.queue, body, unsigned=args.unsigned)
    print(message_id)
    if signed:
        log(f"sent to {url}, signed with the {auth.QUEUE_INTEGRATION} secret (message attributes "
            f"{auth.TIMESTAMP_HEADER}, {auth.SIGNATURE_HEADER})")
    else:
        log(f"sent to {url}" + (" without a signature (--unsigned)" if args.unsigned else ""))
    return 0


def cmd_redrive(args) -> int:
    from stakeline_local import emulator, running
    from stakeline_local.template import load_template

    emulator.isolate_from_real_aws()  # moto only: no profile or endpoint of the caller's
    try:
        suite = _suite(args)
    except running.NoSuite as error:
        log(str(error))
        return 2
    if args.queue in running.THROUGH_BACK_OFFICE:
        try:
            moved, left, actions = running.redrive_through_back_office(suite, args.queue, args.reason)
        except ValueError as error:
            log(str(error))
            return 2
        print(f"{moved} message(s) from {args.queue} sent back through the back office "
              f"({running.THROUGH_BACK_OFFICE[args.queue]}); recorded as {running.REDRIVE_STAFF}: "
              + ", ".join(actions)
              + (f"; {left} message(s) could not go back and stay in {args.queue}" if left else ""))
        return 0 if not left else 1
    try:
        target, moved, left = running.redrive(suite, load_template(args.template), args.queue)
    except ValueError as error:
        log(str(error))
        return 2
    print(f"{moved} event(s) from {args.queue} put on the bus again, for {target}"
          + (f"; {left} message(s) that are not events left in {args.queue}" if left else ""))
    return 0 if not left else 1


def cmd_audit(args) -> int:
    from stakeline_local import running

    try:
        suite = _suite(args)
    except running.NoSuite as error:
        log(f"{error}; nothing to audit")
        return 2
    extra = args.audit_args[1:] if args.audit_args[:1] == ["--"] else args.audit_args
    running.exec_audit(suite, extra)
    return 0  # not reached: exec replaces this process


def cmd_sandbox(args) -> int:
    from stakeline_local import running, sandbox_provider

    try:
        suite = _suite(args)
    except running.NoSuite as error:
        log(str(error))
        return 2
    url = suite.get("sandbox_provider")
    if not url:
        log("that suite runs no sandbox payment provider")
        return 2
    status = sandbox_provider.control(url, args.action)
    print(json.dumps(status, indent=2))
    if args.action != "status":
        log(f"the sandbox payment provider at {url} is {'up' if status['up'] else 'down'}")
    return 0


def _add_suite_options(parser: argparse.ArgumentParser) -> None:
    from stakeline_local import STATE_DIR

    parser.add_argument("--ready-file", type=Path,
                        help="the suite `up --ready-file` described (default: the newest running suite)")
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help=argparse.SUPPRESS)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="stack.py", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = root.add_subparsers(dest="command", required=True)

    emulator = commands.add_parser("emulator", help="moto provisioned from template.yaml")
    _add_stack_options(emulator)
    emulator.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    emulator.add_argument("--lifeline", action="store_true",
                          help="also stop when stdin reaches EOF (for test harnesses)")
    emulator.set_defaults(run=cmd_emulator)

    up = commands.add_parser("up", help="the whole local suite")
    _add_stack_options(up)
    up.add_argument("--cargo-toml", type=Path, default=DEFAULT_CARGO_TOML)
    up.add_argument("--port", type=int, default=9000, help="API port (0 picks a free one)")
    up.add_argument("--emulator-port", type=int, default=4566)
    up.add_argument("--provider-port", type=int, default=0,
                    help="sandbox payment provider port (default 0: a free one)")
    up.add_argument("--console-port", type=int, default=9100,
                    help="operator console port (0 picks a free one; a taken one falls back to a free one)")
    up.add_argument("--no-console", action="store_true",
                    help="do not build or serve the operator console (console/, needs npm)")
    up.add_argument("--ready-file", help="write {base_url, console_url, endpoint, table, …} here once serving")
    up.add_argument("--no-build", action="store_true", help="skip the pre-build (the functions' and the console's)")
    up.add_argument("--no-reload", action="store_true", help="do not rebuild on code changes")
    up.add_argument("--startup-timeout", type=float, default=300)
    up.add_argument("--cargo-lambda", type=Path, help=argparse.SUPPRESS)
    up.set_defaults(run=cmd_up)

    check = commands.add_parser("check-routes", help="Cargo.toml router == template routes")
    check.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    check.add_argument("--cargo-toml", type=Path, default=DEFAULT_CARGO_TOML)
    check.set_defaults(run=cmd_check_routes)

    local_template = commands.add_parser("local-template", help="print what moto provisions")
    local_template.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    local_template.set_defaults(run=cmd_local_template)

    token = commands.add_parser("token", help="mint a local player JWT (or an operator's)")
    token.add_argument("player_id", nargs="?")
    token.add_argument("--operator", metavar="STAFF_ID",
                       help=f"an operator's token for STAFF_ID, with the {auth.OPERATOR_SCOPE} scope")
    token.add_argument("--ttl", type=int, default=3600, help="seconds (default 3600)")
    token.set_defaults(run=cmd_token)

    sign = commands.add_parser(
        "sign", help="sign a provider/aggregator request",
        description="Prints the X-Stakeline-Timestamp and X-Stakeline-Signature headers: HMAC-SHA256 "
                    "over timestamp.METHOD.path.body with the integration's local secret.",
    )
    sign.add_argument("--secret", choices=sorted(auth.INTEGRATION_SECRETS), default="payment-provider")
    sign.add_argument("--method", required=True, help="the request's method, e.g. POST")
    sign.add_argument("--path", required=True,
                      help="the request's raw path, without scheme, host or query string, "
                           "e.g. /players/p-1/deposits")
    body = sign.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the exact body string ('' for none, e.g. a GET)")
    body.add_argument("--body-file", help="file holding the exact body bytes ('-' for stdin)")
    sign.add_argument("--timestamp", type=int, help="unix seconds (default now)")
    sign.set_defaults(run=cmd_sign)

    sign_event = commands.add_parser("sign-event", help="re-sign a sample API Gateway or SQS event")
    sign_event.add_argument("event", help="e.g. events/deposit/deposit.json or events/settle-queue/batch.json")
    sign_event.add_argument("--timestamp", type=int, help="unix seconds (default now)")
    sign_event.add_argument("--secret", choices=sorted(auth.INTEGRATION_SECRETS),
                            help="default: read off the template for the event's route; for SQS "
                                 "events, the aggregator's (given, every record is signed)")
    sign_event.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    where = sign_event.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", help="write here instead of stdout")
    where.add_argument("--in-place", action="store_true", help="rewrite the event file itself")
    sign_event.set_defaults(run=cmd_sign_event)

    redrive = commands.add_parser(
        "redrive", help="send a dead-letter queue's events back through the bus to the queue they failed from; "
                        "SettlementDeadLetterQueue and OutboxFailureQueue through the back office")
    redrive.add_argument("queue", help="the dead-letter or failure queue's logical id, e.g. PayoutDeadLetterQueue")
    redrive.add_argument("--reason", default="sent back with ./dev redrive",
                         help="why (recorded by the back office for SettlementDeadLetterQueue and OutboxFailureQueue)")
    redrive.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    _add_suite_options(redrive)
    redrive.set_defaults(run=cmd_redrive)

    enqueue = commands.add_parser("enqueue", help="send a message to a queue of the running suite")
    enqueue.add_argument("queue", help="the queue's logical id in template.yaml, e.g. SettlementQueue")
    message = enqueue.add_mutually_exclusive_group(required=True)
    message.add_argument("--body", help="the exact message body")
    message.add_argument("--body-file", help="file holding the message body ('-' for stdin)")
    enqueue.add_argument("--unsigned", action="store_true",
                         help="send a settlement without its signature attributes (it is refused "
                              "and ends in the dead-letter queue)")
    _add_suite_options(enqueue)
    enqueue.set_defaults(run=cmd_enqueue)

    audit = commands.add_parser(
        "audit", help="cargo run -p audit --bin reconcile against the running suite's table"
    )
    _add_suite_options(audit)
    audit.add_argument("audit_args", nargs=argparse.REMAINDER,
                       help="after --: more arguments for reconcile")
    audit.set_defaults(run=cmd_audit)

    sandbox = commands.add_parser(
        "sandbox", help="the running suite's sandbox payment provider",
        description="Takes the running suite's sandbox payment provider down (every payout gets "
                    "503) or up, and prints its status: whether it is up, and the payouts it "
                    "recorded with their outcome and where their result stands.",
    )
    sandbox.add_argument("action", choices=["up", "down", "status"])
    _add_suite_options(sandbox)
    sandbox.set_defaults(run=cmd_sandbox)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as error:
        log(f"error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
