"""Shared pytest fixtures for tests/infra and tests/e2e.

Puts infra/local on the import path so tests use the same token minting, signing and emulator
code as ./dev (``from stakeline_local import auth``).
"""

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "infra" / "local"))

from stakeline_local import emulator as local_emulator  # noqa: E402
from stakeline_local.template import load_template  # noqa: E402

local_emulator.isolate_from_real_aws()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def template() -> dict:
    return load_template(REPO_ROOT / "template.yaml")


@pytest.fixture(scope="session")
def emulator() -> dict:
    """A provisioned moto for the whole session: its ready line (endpoint, outputs, resources…)."""
    process, ready = local_emulator.spawn()
    yield ready
    assert local_emulator.close(process) == 0, "the emulator did not stop when its stdin closed"


@pytest.fixture(scope="session")
def aws(emulator):
    """aws("dynamodb") -> a boto3 client for the session's emulator."""

    def client(service: str):
        return local_emulator.aws_client(service, emulator["endpoint"], emulator["region"])

    return client
