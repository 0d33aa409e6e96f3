"""The environment `./dev up` gives each function, resolved against a provisioned emulator."""

import json
import re

import pytest

from stakeline_local import auth, pollers, sandbox_provider, suite
from stakeline_local import emulator as local_emulator
from stakeline_local.template import functions, http_routes


@pytest.fixture(scope="module")
def provisioned(emulator, template):
    return local_emulator.provision(
        emulator["endpoint"], template, region=emulator["region"], stack=emulator["stack"]
    )


def test_each_function_gets_the_provisioned_table_and_local_credentials(provisioned, template):
    environments = suite.function_environments(template, provisioned)
    assert set(environments) >= {"register", "deposit", "wallet-read"}
    for binary, environment in environments.items():
        assert environment["TABLE_NAME"] == provisioned.outputs["WalletTableName"], binary
        assert environment["PLAYER_AUTH"] == "local-hs256"
        assert environment["LOCAL_JWT_SECRET"] == auth.LOCAL_JWT_SECRET
        assert environment["RUST_LOG"] == "info"
        assert environment["AWS_ENDPOINT_URL"] == provisioned.endpoint
        assert environment["AWS_REGION"] == provisioned.region
        assert environment["AWS_ACCESS_KEY_ID"] and environment["AWS_SECRET_ACCESS_KEY"]
        assert not any("{{resolve:" in value for value in environment.values())
    assert environments["deposit"]["PAYMENT_PROVIDER_HMAC_SECRETS"] == auth.INTEGRATION_SECRETS["payment-provider"]
    # settle-queue too: settlement queue messages are signed with the aggregator's secret.
    for binary in ("place-bet", "settle", "settle-queue", "wallet-read"):
        assert environments[binary]["AGGREGATOR_HMAC_SECRETS"] == "stakeline-local-aggregator-secret", binary
    for binary, environment in environments.items():
        # Locally the secrets themselves, never an ARN to read them from.
        assert not [v for v in environment if v.endswith("_SECRET_ARN")], binary
    for binary in ("register", "publisher", "bonus-award"):
        assert not [v for v in environments[binary] if v.endswith("_HMAC_SECRETS")], binary
    assert environments["publisher"]["EVENT_BUS_NAME"] == provisioned.outputs["EventBusName"]
    campaigns = json.loads(environments["bonus-award"]["BONUS_CAMPAIGNS"])
    assert [c["campaign_id"] for c in campaigns] == ["first-deposit-match"]
    # cargo lambda watch runs every function with one environment: it must merge.
    merged = suite.shared_environment(environments)
    assert merged["AGGREGATOR_HMAC_SECRETS"] == auth.INTEGRATION_SECRETS["aggregator"]


def test_queues_and_pollers_come_from_the_template(provisioned, template):
    queues = suite.local_queues(template, provisioned)
    assert set(queues) == {"SettlementQueue", "SettlementDeadLetterQueue", "BonusQueue", "BonusDeadLetterQueue",
                           "BonusRuleDeadLetterQueue", "OutboxFailureQueue",
                           "PayoutQueue", "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue"}
    assert all(url.startswith(provisioned.endpoint + "/") for url in queues.values())
    specs = pollers.event_source_specs(template, provisioned.resources)
    assert sorted((s.event.queue, s.function) for s in specs) == [
        ("BonusQueue", "bonus-award"), ("PayoutQueue", "payout"), ("SettlementQueue", "settle-queue")]
    by_queue = {s.event.queue: s for s in specs}
    assert by_queue["SettlementQueue"].describe() == {
        "queue": "SettlementQueue",
        "queue_url": queues["SettlementQueue"],
        "function": "settle-queue",
        "batch_size": 10,
        "maximum_batching_window": 1.0,
        "report_batch_item_failures": True,
    }
    assert by_queue["BonusQueue"].describe()["queue_url"] == queues["BonusQueue"]
    stream_specs = pollers.stream_source_specs(template, provisioned.resources)
    assert [s.describe() for s in stream_specs] == [{
        "table": "WalletTable",
        "table_name": provisioned.outputs["WalletTableName"],
        "function": "publisher",
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
        "maximum_batching_window": 1.0,
        "report_batch_item_failures": True,
        "filters": [{"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"publish": {"S": ["events"]}}}}],
    }]
    buses = suite.local_event_buses(template, provisioned)
    assert buses == {"WalletEventBus": provisioned.outputs["EventBusName"]}

    text = suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template), queues, specs,
                        template=template, buses=buses, stream_specs=stream_specs)
    assert queues["SettlementQueue"] in text and queues["SettlementDeadLetterQueue"] in text
    assert "./dev enqueue SettlementQueue --body '{\"player_id\":" in text
    assert "./dev enqueue BonusQueue --body '{\"version\":\"0\"" in text
    assert "POST   /players/{player_id}/bets/{bet_id}/settlement" in text
    assert provisioned.outputs["EventBusName"] in text
    assert "rule FirstDepositBonusRule -> BonusQueue" in text
    assert "WalletTable stream -> publisher (batch 100, window 1 s, from TRIM_HORIZON" in text
    assert "BonusQueue" in text and "-> bonus-award (polled" in text
    # The banner's example message is what the rule delivers.
    envelope = json.loads(suite.EXAMPLE_MESSAGES["bonus-award"])
    assert envelope["detail"]["first_deposit"] is True and envelope["detail-type"] == "DepositCompleted"


def test_the_payout_function_sends_to_the_sandbox_provider(provisioned, template):
    """A function that declares PAYOUT_API_URL (a template parameter on AWS) gets the sandbox
    payment provider's URL; the other functions do not get the variable."""
    with_payout = {**template, "Resources": dict(template["Resources"])}
    function = dict(with_payout["Resources"]["WithdrawFunction"])
    variables = dict(function["Properties"]["Environment"]["Variables"])
    variables[sandbox_provider.URL_VARIABLE] = {"Ref": "PayoutApiUrl"}
    function["Properties"] = {**function["Properties"], "Environment": {"Variables": variables}}
    with_payout["Resources"]["WithdrawFunction"] = function
    sandbox = sandbox_provider.SandboxProvider(0, None)
    try:
        environments = suite.function_environments(
            with_payout, provisioned, {sandbox_provider.URL_VARIABLE: sandbox.url})
    finally:
        sandbox.http.server.server_close()
    assert environments["withdraw"]["PAYOUT_API_URL"] == sandbox.url == f"http://127.0.0.1:{sandbox.port}"
    assert environments["withdraw"]["PLAYER_AUTH"] == "local-hs256", "LOCAL_OVERRIDES still apply"
    declaring = {f.binary for f in functions(with_payout) if "PAYOUT_API_URL" in f.environment}
    assert "withdraw" in declaring
    assert {b for b, e in environments.items() if "PAYOUT_API_URL" in e} == declaring
    assert suite.shared_environment(environments)["PAYOUT_API_URL"] == sandbox.url
    # Without the sandbox's URL the variable has no local value.
    with pytest.raises(ValueError, match="PAYOUT_API_URL cannot be resolved locally"):
        suite.function_environments(with_payout, provisioned)
    # Overrides leave functions that do not declare the variable as they were.
    as_written = suite.function_environments(template, provisioned, {"PAYOUT_API_URL": sandbox.url})
    if "PAYOUT_API_URL" not in as_written["withdraw"]:
        environments["withdraw"].pop("PAYOUT_API_URL")
    assert environments == as_written


def test_the_banner_names_the_sandbox_provider_and_its_test_amounts(provisioned, template):
    url = "http://127.0.0.1:5055"
    text = suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template), sandbox=url)
    assert f"Payouts      {url}" in text
    assert f"PAYOUT_API_URL={url}" in text
    for ending in sandbox_provider.TEST_AMOUNTS:
        assert f"amount ending in {ending}: " in text
    assert "./dev sandbox down" in text
    assert "sandbox" not in suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template))


def test_one_shared_environment_refuses_conflicts():
    assert suite.shared_environment({"a": {"X": "1"}, "b": {"X": "1", "Y": "2"}}) == {"X": "1", "Y": "2"}
    with pytest.raises(ValueError, match="X differs between a"):
        suite.shared_environment({"a": {"X": "1"}, "b": {"X": "2"}})


def test_unresolvable_expressions_are_reported(provisioned, template):
    broken = {**template, "Resources": dict(template["Resources"])}
    function = dict(broken["Resources"]["WalletReadFunction"])
    function["Properties"] = {
        **function["Properties"],
        "Environment": {"Variables": {"API_ID": {"Ref": "WalletHttpApi"}}},
    }
    broken["Resources"]["WalletReadFunction"] = function
    with pytest.raises(ValueError, match="API_ID cannot be resolved locally"):
        suite.function_environments(broken, provisioned)


def test_env_file_is_plain_key_value(tmp_path):
    path = tmp_path / "suite.env"
    suite.write_env_file(path, {"B": "2", "A": "x,y"})
    assert path.read_text() == "A=x,y\nB=2\n"
    with pytest.raises(ValueError):
        suite.write_env_file(path, {"A": "line\nbreak"})


# env-file-reader 0.3 (what `cargo lambda watch --env-file` uses), its lexer transcribed: an
# unquoted value excludes whitespace, quotes, # and =; a quoted one ('…' or `…`) is taken as
# written, but for backslash-n (a newline) and backslash-quote (the quote).
_READER_TOKEN = re.compile(r"""(?P<ident>[^\s='`"#]+)|(?P<quoted>'[^']*'|`[^`]*`)|(?P<eq>=)|(?P<nl>\n\s*)""")


def _read_env_file(text: str) -> dict[str, str]:
    tokens, position = [], 0
    while position < len(text):
        match = _READER_TOKEN.match(text, position)
        assert match, f"env-file-reader would fail at {text[position:position + 20]!r}"
        kind = match.lastgroup
        value = match.group()
        if kind == "quoted":
            quote = value[0]
            value = value[1:-1].replace("\\" + quote, quote).replace("\\n", "\n")
        tokens.append((kind, value))
        position = match.end()
    variables = {}
    lines = [[]]
    for kind, value in tokens:
        if kind == "nl":
            lines.append([])
        else:
            lines[-1].append((kind, value))
    for line in filter(None, lines):
        assert [kind for kind, _ in line] in (["ident", "eq", "ident"], ["ident", "eq", "quoted"]), line
        variables[line[0][1]] = line[2][1]
    return variables


def test_env_file_values_read_back_unchanged_by_cargo_lambda(tmp_path, provisioned, template):
    path = tmp_path / "suite.env"
    values = {
        "URL": "http://127.0.0.1:4566",
        "SECRETS": "a,b",
        "BASE64": "c2VjcmV0==",
        "JSON": '[{"campaign_id":"first-deposit-match","cap":{"EUR":10000}}]',
        "SPACED": "two words",
        "APOSTROPHE": "it's",
        "HASH": "#not-a-comment",
    }
    suite.write_env_file(path, values)
    assert _read_env_file(path.read_text()) == values
    assert "JSON='[{" in path.read_text()
    with pytest.raises(ValueError, match="cannot go in an env file"):
        suite.write_env_file(path, {"BOTH": "it's `x`"})
    with pytest.raises(ValueError, match="cannot go in an env file"):
        suite.write_env_file(path, {"ESCAPED": '{"a":"\\n"}'})
    # What ./dev up really writes: the merged environment of every function.
    merged = suite.shared_environment(suite.function_environments(template, provisioned))
    suite.write_env_file(path, merged)
    assert _read_env_file(path.read_text()) == merged


def test_the_banner_says_the_schedules_do_not_run_locally_and_how_to_run_them(provisioned, template):
    """A function with a Schedule event (review-age) is served like the others; nothing invokes it
    locally, and the banner says so, with the command that does."""
    environments = suite.function_environments(template, provisioned)
    assert environments["review-age"]["TABLE_NAME"] == provisioned.outputs["WalletTableName"]
    text = suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template), template=template)
    assert "Schedules (EventBridge rules on AWS; the local suite runs none: invoke by hand):" in text
    assert "ReviewAgeFunction.EveryFiveMinutes rate(5 minutes) -> review-age" in text
    assert ".venv/bin/cargo-lambda lambda invoke review-age -A 127.0.0.1 -P 9000 --data-ascii '{}'" in text
    without = {**template, "Resources": {i: r for i, r in template["Resources"].items() if i != "ReviewAgeFunction"}}
    assert "Schedules" not in suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template),
                                          template=without)
