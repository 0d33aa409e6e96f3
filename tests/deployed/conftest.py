"""Fixtures of the deployed-stack checks: the stack from the environment (see
deployed_stack.py), and its test player."""

import os

import pytest

from deployed_stack import REQUIRED, Stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    if not os.environ.get("STAKELINE_BASE_URL"):
        pytest.skip("STAKELINE_BASE_URL is not set: no deployed stack to check")
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise pytest.UsageError(f"STAKELINE_BASE_URL is set, so these are needed too: {', '.join(missing)}")
    return Stack(dict(os.environ))


@pytest.fixture(scope="session")
def player(stack: Stack) -> str:
    """The test player, registered once (the same body again answers the same account)."""
    body = {
        "email": f"{stack.player}@stakeline-e2e.example",
        "date_of_birth": "1990-04-12",
        "country": "MT",
        "currency": stack.currency,
    }
    response = stack.as_player("POST", "/players", body)
    assert response.status_code in (200, 201), response.text
    assert response.json()["player_id"] == stack.player
    return stack.player
