"""Local tooling for Stakeline: the emulated AWS side, the local suite and test credentials.

Everything here derives from template.yaml so the local suite cannot drift from what is
deployed. Modules:

- ``auth``: local player tokens and provider/aggregator request signatures.
- ``template``: loading template.yaml and deriving the part moto can provision.
- ``routes``: the template's HTTP routes against Cargo.toml's cargo-lambda router.
- ``emulator``: moto in-process, provisioned from the template.
- ``suite``: moto + ``cargo lambda watch`` with each function's environment, a poller per
  SQS event and a stream reader per DynamoDB event.
- ``pollers``: Lambda's event source mappings, emulated: SQS (``SqsEventSource``) and
  DynamoDB streams (``StreamEventSource``).
- ``running``: finding a running suite, sending to its queues, auditing its table.
- ``sandbox_provider``: the payment provider's payout API, emulated with documented test
  amounts; it reports each payout's result back to the API, signed.
- ``console_server``: the operator console (console/dist) on one origin with /ops, and its
  local sign-in.
- ``events``: re-signing the sample API Gateway events under events/.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_CARGO_TOML = REPO_ROOT / "Cargo.toml"
STATE_DIR = REPO_ROOT / ".local"


def log(message: str) -> None:
    """Progress for humans; stdout stays free for machine-readable output."""
    print(f"[stakeline] {message}", file=sys.stderr, flush=True)
