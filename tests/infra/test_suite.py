"""The environment `./dev up` gives each function, resolved against a provisioned emulator."""

import pytest

from stakeline_local import auth, pollers, suite
from stakeline_local import emulator as local_emulator
from stakeline_local.template import http_routes


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
    for binary in ("place-bet", "settle", "wallet-read"):
        assert environments[binary]["AGGREGATOR_HMAC_SECRETS"] == "stakeline-local-aggregator-secret", binary
    assert "AGGREGATOR_HMAC_SECRETS" not in environments["settle-queue"], "the queue needs no signing secret"
    # cargo lambda watch runs every function with one environment: it must merge.
    merged = suite.shared_environment(environments)
    assert merged["AGGREGATOR_HMAC_SECRETS"] == auth.INTEGRATION_SECRETS["aggregator"]


def test_queues_and_pollers_come_from_the_template(provisioned, template):
    queues = suite.local_queues(template, provisioned)
    assert set(queues) == {"SettlementQueue", "SettlementDeadLetterQueue"}
    assert all(url.startswith(provisioned.endpoint + "/") for url in queues.values())
    specs = pollers.event_source_specs(template, provisioned.resources)
    assert [(s.event.queue, s.function) for s in specs] == [("SettlementQueue", "settle-queue")]
    assert specs[0].describe() == {
        "queue": "SettlementQueue",
        "queue_url": queues["SettlementQueue"],
        "function": "settle-queue",
        "batch_size": 10,
        "maximum_batching_window": 1.0,
        "report_batch_item_failures": True,
    }
    text = suite.banner("http://127.0.0.1:9000", provisioned, "table", http_routes(template), queues, specs)
    assert queues["SettlementQueue"] in text and queues["SettlementDeadLetterQueue"] in text
    assert "./dev enqueue SettlementQueue --body '{\"player_id\":" in text
    assert "POST   /players/{player_id}/bets/{bet_id}/settlement" in text


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
