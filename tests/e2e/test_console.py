"""The operator console in headless Chromium against the local suite: the data is set up through
the API as the player, the payment provider and the aggregator would, each scenario is driven
in the browser by a Node script (tests/e2e/console/*.mjs, playwright-core pinned in
console/package.json), and the outcome is checked through the API again.

The run saves screenshots of the main pages to docs/screenshots/ for the README."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import new_id
from test_payouts import withdraw

REPO_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "console"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# Where a failing scenario leaves a picture of the page it failed on.
FAILURES = Path(tempfile.gettempdir()) / "stakeline-console-failures"
CHROMIUM = os.environ.get("STAKELINE_CHROMIUM", "/usr/bin/chromium")
SCENARIO_TIMEOUT_SECONDS = 180
QUEUES = ["SettlementDeadLetterQueue", "OutboxFailureQueue", "BonusDeadLetterQueue",
          "BonusRuleDeadLetterQueue", "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue"]


@pytest.fixture(scope="module", autouse=True)
def browser_tools():
    """What the scenarios need: node, the console's packages (npm ci) and Chromium."""
    missing = [what for what, ok in [
        ("node on PATH", shutil.which("node")),
        (f"Chromium at {CHROMIUM} (./dev test installs Debian's chromium)", os.access(CHROMIUM, os.X_OK)),
        ("console/node_modules/playwright-core (npm ci --prefix console)",
         (REPO_ROOT / "console" / "node_modules" / "playwright-core").is_dir()),
    ] if not ok]
    assert not missing, "the console's browser tests need " + "; ".join(missing)


@pytest.fixture(scope="session")
def console_url(suite) -> str:
    url = suite.get("console_url")
    assert url, "the suite serves no console (its ready file has no console_url)"
    return url.rstrip("/")


def run_scenario(name: str, params: dict, on_pause=None) -> dict:
    """Runs tests/e2e/console/NAME.mjs with ``params``; ``on_pause(message)`` answers each pause
    (an API call made while the page is on screen). Returns the scenario's result; fails with
    what the page said when the scenario fails."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    FAILURES.mkdir(parents=True, exist_ok=True)
    params = {"screenshots": str(SCREENSHOTS), "failures": str(FAILURES), **params}
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            ["node", str(SCENARIOS / f"{name}.mjs"), json.dumps(params)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
        # A scenario that hangs is ended (it is ours: this very process) after the timeout.
        watchdog = threading.Timer(SCENARIO_TIMEOUT_SECONDS, process.kill)
        watchdog.start()
        result = None
        try:
            for line in process.stdout:
                message = json.loads(line)
                if "pause" in message:
                    answer = on_pause(message) if on_pause else {}
                    process.stdin.write(json.dumps(answer or {}) + "\n")
                    process.stdin.flush()
                elif message.get("done"):
                    result = message["result"]
            code = process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr.seek(0)
        report = stderr.read()
    assert code == 0 and result is not None, (
        f"the {name} scenario failed (exit {code}; the page: {FAILURES / f'failure-{name}.png'}):\n{report}")
    return result


def eur(minor: int) -> str:
    """The console's rendering of a EUR amount (checked against money.ts by the unit tests)."""
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d} EUR"


def funded_player(api) -> str:
    """A registered player with a deposit, and a bet won, so every table of the page has rows."""
    player = f"e2e-{new_id('console')}"
    assert api.register(player).status_code == 201
    assert api.deposit(player, new_id("psp"), 5000).status_code == 201
    bet_id = new_id("bet")
    assert api.bet(player, bet_id, 500).status_code == 201
    assert api.settle(player, bet_id, {"settlement_id": new_id("stl"), "kind": "win", "amount": 1200}).status_code == 201
    return player


def ops_withdrawal(api, player: str, withdrawal_id: str) -> dict:
    response = api.as_operator("GET", f"/ops/players/{player}/withdrawals?limit=100")
    assert response.status_code == 200, response.text
    [found] = [w for w in response.json()["items"] if w["withdrawal_id"] == withdrawal_id]
    return found


def test_console_an_analyst_rejects_a_withdrawal_in_review(api, console_url):
    player = funded_player(api)
    withdrawal_id = withdraw(api, player, 2000)
    cash_before = api.as_operator("GET", f"/ops/players/{player}").json()["wallet"]["cash"]
    reason = "destination does not match the deposits"

    result = run_scenario("review_reject", {
        "console_url": console_url, "staff": "staff-7", "player_id": player, "withdrawal_id": withdrawal_id,
        "amount_text": eur(2000), "cash_text": eur(cash_before + 2000), "reason": reason,
    })

    assert result["ledger_rows"] >= 4  # deposit, bet, win, withdrawal, its return (and maybe the bonus)
    detail = api.as_operator("GET", f"/ops/players/{player}").json()
    assert (detail["wallet"]["cash"], detail["wallet"]["pending_withdrawal"]) == (cash_before + 2000, 0)
    [action] = [a for a in detail["actions"] if a.get("withdrawal_id") == withdrawal_id]
    assert (action["operator"], action["decision"], action["reason"]) == ("staff-7", "reject", reason)


def test_console_a_locked_player_cannot_bet(api, console_url):
    player = funded_player(api)
    email = f"{player}@example.com"

    run_scenario("lock_player", {
        "console_url": console_url, "staff": "staff-7", "player_id": player, "email": email,
        "reason": "chargeback under investigation",
    })

    refused = api.bet(player, new_id("bet"), 100)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "PLAYER_BLOCKED"
    assert api.as_operator("GET", f"/ops/players/{player}").json()["account"]["status"] == "disabled"


def test_console_shows_a_conflict_when_another_operator_decided_first(api, console_url):
    player = funded_player(api)
    withdrawal_id = withdraw(api, player, 2000)

    def decide_elsewhere(_message):
        response = api.as_operator("POST", f"/ops/withdrawals/{withdrawal_id}/decision", staff="staff-other",
                                   body={"decision": "reject", "reason": "duplicate request"})
        assert response.status_code == 200, response.text

    result = run_scenario("conflict", {
        "console_url": console_url, "staff": "staff-7", "other_staff": "staff-other",
        "player_id": player, "withdrawal_id": withdrawal_id,
    }, on_pause=decide_elsewhere)

    assert "already decided by someone else" in result["conflict"]
    # The first decision stands, and only it was recorded.
    current = ops_withdrawal(api, player, withdrawal_id)
    assert (current["status"], current["decided_by"]) == ("rejected", "staff-other")
    actions = api.as_operator("GET", f"/ops/players/{player}").json()["actions"]
    assert [a["operator"] for a in actions if a.get("withdrawal_id") == withdrawal_id] == ["staff-other"]


def test_console_audit_is_clean_and_queues_are_listed(api, console_url):
    queues = api.as_operator("GET", "/ops/queues")
    assert queues.status_code == 200, queues.text
    states = {q["queue"]: q for q in queues.json()["items"]}
    assert sorted(states) == sorted(QUEUES)
    # Every queue can be redriven; an empty one if there is one: the redrive then moves nothing.
    assert all(states[q]["redrivable"] for q in QUEUES), states
    redrivable = sorted((states[q]["depth"] != 0, q) for q in states)

    result = run_scenario("audit_queues", {
        "console_url": console_url, "staff": "staff-7", "queues": QUEUES,
        "redrive": redrivable[0][1],
    })

    assert sorted(result["queues"]) == sorted(QUEUES)
    assert result["accounts"] >= 1
