"""tests/deployed (the end-to-end checks of a deployed stack, driven by environment variables)
run against the local suite here, exactly as an operator runs them against AWS: in their own
pytest process, with a token for the test player, an operator token and the two signing
secrets. So the suite an operator relies on is itself kept working."""

import os
import subprocess
import sys
import uuid

from stakeline_local import auth


def run_deployed_suite(repo_root, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAKELINE_")}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/deployed", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600, check=False,
    )


def test_the_deployed_stack_suite_passes_against_the_local_suite(repo_root, base_url):
    player = f"e2e-deployed-{uuid.uuid4()}"
    environment = {
        "STAKELINE_BASE_URL": base_url,
        "STAKELINE_PLAYER_TOKEN": auth.mint_token(player),
        "STAKELINE_OPERATOR_TOKEN": auth.mint_token("staff-deployed", scope=auth.OPERATOR_SCOPE),
        "STAKELINE_PROVIDER_SECRET": auth.INTEGRATION_SECRETS["payment-provider"],
        "STAKELINE_AGGREGATOR_SECRET": auth.INTEGRATION_SECRETS["aggregator"],
        # Locally a function's first request may wait for its build.
        "STAKELINE_TIMEOUT": "300",
    }
    first = run_deployed_suite(repo_root, environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 passed" in first.stdout and "skipped" not in first.stdout, first.stdout
    # Again, against the same test player: a second run registers nothing new and passes.
    again = run_deployed_suite(repo_root, environment)
    assert again.returncode == 0, again.stdout + again.stderr


def test_without_a_base_url_it_skips_and_with_one_it_needs_the_credentials(repo_root):
    skipped = run_deployed_suite(repo_root, {})
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "3 skipped" in skipped.stdout, skipped.stdout
    incomplete = run_deployed_suite(repo_root, {"STAKELINE_BASE_URL": "http://127.0.0.1:9"})
    assert incomplete.returncode != 0
    assert "STAKELINE_PLAYER_TOKEN" in incomplete.stdout + incomplete.stderr
