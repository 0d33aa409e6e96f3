"""`./dev redrive`: a dead-letter queue's messages back to the queue they failed from, found
from template.yaml (a queue's redrive policy, or a rule target's dead-letter config)."""

import json

import pytest

from stakeline_local import running


@pytest.mark.parametrize("dead_letters, source", [
    ("PayoutDeadLetterQueue", "PayoutQueue"),
    ("BonusDeadLetterQueue", "BonusQueue"),
    ("PayoutRuleDeadLetterQueue", "PayoutQueue"),
    ("BonusRuleDeadLetterQueue", "BonusQueue"),
])
def test_every_dead_letter_queue_knows_its_queue_from_the_template(template, dead_letters, source):
    assert running.redrive_target(template, dead_letters) == source


@pytest.mark.parametrize("queue, why", [
    ("SettlementDeadLetterQueue", "sends each message back with its signature"),
    ("OutboxFailureQueue", "not the dead-letter queue"),
    ("PayoutQueue", "not the dead-letter queue"),
    ("NoSuchQueue", "not the dead-letter queue"),
])
def test_other_queues_are_refused_with_a_reason(template, queue, why):
    with pytest.raises(ValueError, match=why):
        running.redrive_target(template, queue)


def _drain(sqs, url: str) -> list[dict]:
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_redrive_puts_each_event_on_the_bus_once_and_leaves_what_is_not_an_event(emulator, aws, template):
    sqs = aws("sqs")
    resources = emulator["resources"]
    suite = {"endpoint": emulator["endpoint"], "region": emulator["region"],
             "queues": {q: resources[q] for q in ("PayoutQueue", "PayoutDeadLetterQueue")},
             "event_buses": {"WalletEventBus": emulator["outputs"]["EventBusName"]}}
    _drain(sqs, resources["PayoutQueue"])
    details = [{"event_id": f"WithdrawalApproved:wd-{n}", "player_id": "p-1", "withdrawal_id": f"wd-{n}"}
               for n in range(13)]
    for detail in details:
        envelope = {"version": "0", "id": f"id-{detail['withdrawal_id']}", "detail-type": "WithdrawalApproved",
                    "source": "stakeline.wallet", "detail": detail}
        sqs.send_message(QueueUrl=resources["PayoutDeadLetterQueue"], MessageBody=json.dumps(envelope))
    sqs.send_message(QueueUrl=resources["PayoutDeadLetterQueue"], MessageBody="{truncated")

    assert running.redrive(suite, template, "PayoutDeadLetterQueue") == ("PayoutQueue", 13, 1)

    delivered = [json.loads(m["Body"]) for m in _drain(sqs, resources["PayoutQueue"])]
    assert sorted(d["detail"]["withdrawal_id"] for d in delivered) == sorted(d["withdrawal_id"] for d in details)
    assert {(d["source"], d["detail-type"]) for d in delivered} == {("stakeline.wallet", "WithdrawalApproved")}
    # The poison message stays, hidden for a minute; nothing else is left.
    left = sqs.get_queue_attributes(QueueUrl=resources["PayoutDeadLetterQueue"],
                                    AttributeNames=["ApproximateNumberOfMessages",
                                                    "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert left == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"}


def test_a_queue_the_suite_does_not_have_is_refused(template):
    suite = {"endpoint": "http://127.0.0.1:1", "region": "us-east-1", "queues": {}, "event_buses": {"B": "b"}}
    with pytest.raises(ValueError, match="no queue"):
        running.redrive(suite, template, "PayoutDeadLetterQueue")
