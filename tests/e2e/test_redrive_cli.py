"""`./dev redrive` for the two queues whose messages cannot simply go back on the bus: it asks
the running suite's back office (`POST /ops/queues/{queue}/redrive`), as the console does."""

import json
import subprocess

from conftest import bet_once_closed, new_id, sqs

from stakeline_local import auth


def redrive(repo_root, ready_file, queue: str, reason: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(repo_root / "dev"), "redrive", queue, "--ready-file", str(ready_file), "--reason", reason],
        cwd=repo_root, capture_output=True, text=True, timeout=600, check=False,
    )


def test_a_dead_lettered_settlement_goes_back_signed_and_settles_the_bet(api, player, suite, repo_root, tmp_path):
    assert api.deposit(player, new_id("dep"), 1_000).status_code == 201
    bet_id = new_id("bet")
    assert api.bet(player, bet_id, 200).status_code == 201
    # A settlement the queue gave up on: signed by the aggregator, now in the dead-letter queue.
    body = json.dumps({"player_id": player, "bet_id": bet_id, "settlement_id": new_id("stl"),
                       "kind": "win", "amount": 500})
    sqs(suite).send_message(QueueUrl=suite["queues"]["SettlementDeadLetterQueue"], MessageBody=body,
                            MessageAttributes=auth.signed_message_attributes(body))
    ready_file = tmp_path / "ready.json"
    ready_file.write_text(json.dumps(suite))

    result = redrive(repo_root, ready_file, "SettlementDeadLetterQueue", "aggregator signature fixed")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 message(s) from SettlementDeadLetterQueue sent back through the back office" in result.stdout
    assert "recorded as dev-redrive" in result.stdout

    seen = bet_once_closed(api, player, bet_id)
    assert seen["status"] == "won", seen
    wallet = api.as_player("GET", f"/players/{player}/wallet", player).json()
    assert wallet["cash"] == 1_000 - 200 + 500

    # Nothing is left behind in the dead-letter queue.
    queues = api.as_operator("GET", "/ops/queues").json()["items"]
    assert [q["depth"] for q in queues if q["queue"] == "SettlementDeadLetterQueue"] == [0], queues


def test_the_failure_queue_is_replayed_through_the_back_office_too(suite, repo_root, tmp_path):
    ready_file = tmp_path / "ready.json"
    ready_file.write_text(json.dumps(suite))
    result = redrive(repo_root, ready_file, "OutboxFailureQueue", "publisher fixed")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "message(s) from OutboxFailureQueue sent back through the back office" in result.stdout
    refused = redrive(repo_root, ready_file, "OutboxFailureQueue", "   ")
    assert refused.returncode == 2
    assert "VALIDATION_FAILED" in refused.stderr, refused.stderr
