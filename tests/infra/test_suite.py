"""The environment `./dev up` gives each function, resolved against a provisioned emulator."""

import pytest

from stakeline_local import auth, suite
from stakeline_local import emulator as local_emulator


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
