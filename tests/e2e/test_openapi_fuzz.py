"""OpenAPI fuzzing: schemathesis drives the local suite from openapi.yaml, with real credentials.

The contract it holds the suite to: no 5xx, and every response has a status the operation
documents, its documented content type, a body matching its documented schema and its
documented headers (`Cache-Control`, `Retry-After`). Schemathesis runs `--checks all`: besides
those, valid requests must not be refused for their shape, invalid ones must be refused, and
credentials must be enforced (`ignored_auth` replays requests without them and expects 401).
Two checks are left out: `unsupported_method` and `allow_header_conformance` expect 405 with
`Allow` for a method a path does not declare, but an API Gateway HTTP API answers an undeclared
route with its own 404 before any function runs, and the contract does not describe it.

How: the suite's players are registered and funded first (`seed_players`), with a few bets, so
that most requests reach a real account (and every function is compiled before the clock
starts). Then `schemathesis run openapi.yaml --url <suite> --checks all` runs in a subprocess with
`SCHEMATHESIS_HOOKS=tests/e2e/schemathesis_hooks.py` (the credentials, the seeded ids for
`{player_id}` and `{bet_id}`, and the two documented behaviours that are not findings) and
`STAKELINE_FUZZ_PLAYERS` naming the seeded ids. Stateful sequences follow the `links` of
openapi.yaml (register, deposit, bet, read and settle the bet). The test passes when
schemathesis exits 0; its summary is printed (shown with `-s`, or on failure).

Bounds, from the environment:
- `STAKELINE_FUZZ_MAX_TIME` (default 150): seconds for the whole schemathesis run; fuzzing and
  stateful testing keep drawing new cases until it is spent. With the suite's start-up this
  keeps the test near 3 minutes on 2 cores.
- `STAKELINE_FUZZ_MAX_EXAMPLES` (default 20): cases per operation in each round of fuzzing.
- `STAKELINE_FUZZ_WORKERS` (default 1): concurrent requests. More than one makes requests race
  for the same wallets, which may end in a (documented) 503 that the run counts as a 5xx.
- `STAKELINE_FUZZ_SEED`: replay a run (schemathesis prints the seed it used).

A longer run, by hand:

    STAKELINE_FUZZ_MAX_TIME=1800 STAKELINE_FUZZ_MAX_EXAMPLES=500 \\
        .venv/bin/python -m pytest tests/e2e/test_openapi_fuzz.py -s

It needs schemathesis, which infra/local/requirements.txt pins (`./dev` installs it).
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Api, new_id, register_new_player

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi.yaml"
HOOKS = Path(__file__).resolve().parent / "schemathesis_hooks.py"

MAX_TIME = int(os.environ.get("STAKELINE_FUZZ_MAX_TIME", "150"))
MAX_EXAMPLES = int(os.environ.get("STAKELINE_FUZZ_MAX_EXAMPLES", "20"))
WORKERS = int(os.environ.get("STAKELINE_FUZZ_WORKERS", "1"))
SEED = os.environ.get("STAKELINE_FUZZ_SEED")
# Schemathesis stops itself at MAX_TIME; this only ends a run that hangs.
HANG_SECONDS = MAX_TIME + 300

# Checks that expect 405 for undeclared methods (see the module docstring).
EXCLUDED_CHECKS = ("unsupported_method", "allow_header_conformance")

# How many players each pool of schemathesis_hooks gets, and what the main ones hold.
POOL_SIZES = {"main": 3, "exclusions": 2, "limits": 2, "locks": 2}
DEPOSIT = 200_000
OPEN_BETS = 2
STAKE = 100


def _expect(response, *statuses):
    assert response.status_code in statuses, f"{response.request.method} {response.request.url}: {response.text}"
    return response


def seed_players(api: Api) -> dict:
    """Registered players per pool; the main ones funded, each with open bets and a settled one.
    Every function is invoked once on the way, so none compiles while schemathesis runs."""
    pools = {pool: [register_new_player(api) for _ in range(size)] for pool, size in POOL_SIZES.items()}
    bets = {}
    for player in pools["main"]:
        _expect(api.deposit(player, new_id("fuzz-deposit"), DEPOSIT), 201)
        placed = [new_id("fuzz-bet") for _ in range(OPEN_BETS + 1)]
        for bet_id in placed:
            _expect(api.bet(player, bet_id, STAKE), 201)
        _expect(api.settle(player, placed[-1], {"settlement_id": new_id("fuzz-win"), "kind": "win", "amount": 150}), 201)
        _expect(api.as_player("GET", f"/players/{player}/wallet", player), 200)
        _expect(api.as_aggregator("GET", f"/players/{player}/bets/{placed[0]}"), 200)
        bets[player] = placed
    _expect(api.as_operator("GET", f"/ops/players/{pools['main'][0]}"), 200)
    return {"pools": pools, "bets": bets}


def schemathesis_command(base_url: str, report_dir: Path) -> list[str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(SPEC),
        "--url", base_url,
        "--checks", "all",
        "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--max-time", str(MAX_TIME),
        "--max-examples", str(MAX_EXAMPLES),
        "--workers", str(WORKERS),
        "--request-timeout", "60",
        "--generation-database", "none",
        "--report", "junit",
        "--report-dir", str(report_dir),
        "--no-color",
    ]
    if SEED:
        command += ["--seed", SEED]
    return command


def test_the_suite_answers_every_fuzzed_request_as_documented(api, base_url, tmp_path):
    if importlib.util.find_spec("schemathesis") is None:
        pytest.fail(f"schemathesis is not installed in {sys.prefix}: install infra/local/requirements.txt")
    seeded = seed_players(api)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "STAKELINE_FUZZ_PLAYERS": json.dumps(seeded),
        "PYTHONUNBUFFERED": "1",
    }
    command = schemathesis_command(base_url, tmp_path / "report")
    try:
        # In tmp_path: schemathesis writes its working files (reports, caches) where it runs.
        run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=HANG_SECONDS)
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"schemathesis did not stop within {HANG_SECONDS} s:\n{hung.stdout or ''}\n{hung.stderr or ''}")
    summary = run.stdout + (f"\n--- stderr ---\n{run.stderr}" if run.stderr.strip() else "")
    print(f"$ {' '.join(command)}\n{summary}\nJUnit report: {tmp_path / 'report'}")
    assert run.returncode == 0, f"schemathesis found problems (exit {run.returncode}):\n{summary}"
