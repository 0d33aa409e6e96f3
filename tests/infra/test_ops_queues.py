"""The back office's queue catalogue (functions/ops/src/queues.rs, `KNOWN`) and template.yaml
agree: every dead-letter or failure queue of the template is known, the ops function watches
exactly those (OPS_QUEUES), and each queue's messages go back to the queue the template makes
it the dead-letter queue of (for events, the same answer `./dev redrive` finds)."""

import re
from pathlib import Path

import pytest

from stakeline_local import running
from stakeline_local.template import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(REPO / "template.yaml")
SOURCE = (REPO / "functions/ops/src/queues.rs").read_text()


def _known() -> dict[str, str | None]:
    """Queue name -> the queue its events go back to (None: held)."""
    block = SOURCE[SOURCE.index("pub const KNOWN"):SOURCE.index("];", SOURCE.index("pub const KNOWN"))]
    known = {}
    for entry in re.split(r"\n    Known \{", block)[1:]:
        name = re.search(r'name: "(\w+)"', entry).group(1)
        target = re.search(r'delivers_to: "(\w+)"', entry)
        known[name] = target.group(1) if target else None
    return known


KNOWN = _known()


def _dead_letter_queues() -> set[str]:
    """Every queue of the template that is a dead-letter queue or the stream's failure queue."""
    found = set()
    for resource in TEMPLATE["Resources"].values():
        properties = resource.get("Properties") or {}
        policy = properties.get("RedrivePolicy") or {}
        if running._reference(policy.get("deadLetterTargetArn")):
            found.add(running._reference(policy["deadLetterTargetArn"]))
        for target in properties.get("Targets") or []:
            dlq = running._reference((target.get("DeadLetterConfig") or {}).get("Arn"))
            if dlq:
                found.add(dlq)
        for event in (properties.get("Events") or {}).values():
            destination = ((event.get("Properties") or {}).get("DestinationConfig") or {}).get("OnFailure") or {}
            if running._reference(destination.get("Destination")):
                found.add(running._reference(destination["Destination"]))
    return found


def test_every_dead_letter_and_failure_queue_is_known():
    assert len(KNOWN) == 6
    assert set(KNOWN) == _dead_letter_queues()


def test_the_ops_function_watches_exactly_the_known_queues():
    variables = TEMPLATE["Resources"]["OpsFunction"]["Properties"]["Environment"]["Variables"]
    text = variables["OPS_QUEUES"]["Fn::Sub"]
    pairs = dict(pair.split("=", 1) for pair in text.split())
    assert set(pairs) == set(KNOWN)
    assert all(value == "${" + name + "}" for name, value in pairs.items())


def _failed_from(dead_letter_queue: str) -> str | None:
    """The queue whose redrive policy, or whose rule target, names ``dead_letter_queue``."""
    for logical_id, resource in TEMPLATE["Resources"].items():
        properties = resource.get("Properties") or {}
        policy = properties.get("RedrivePolicy") or {}
        if running._reference(policy.get("deadLetterTargetArn")) == dead_letter_queue:
            return logical_id
        for target in properties.get("Targets") or []:
            if running._reference((target.get("DeadLetterConfig") or {}).get("Arn")) == dead_letter_queue:
                return running._reference(target.get("Arn"))
    return None


@pytest.mark.parametrize("queue", sorted(KNOWN))
def test_a_queue_goes_back_where_the_template_says_it_came_from(queue):
    if queue == "OutboxFailureQueue":
        # The publisher's stream failures: published again from the stream, to the bus.
        assert KNOWN[queue] is None
        assert _failed_from(queue) is None
    else:
        assert KNOWN[queue] == _failed_from(queue)
    if KNOWN[queue] not in (None, "SettlementQueue"):
        # Events: `./dev redrive` sends them the same way.
        assert running.redrive_target(TEMPLATE, queue) == KNOWN[queue]


def test_every_consumer_queue_dead_letters_after_the_deliveries_the_functions_count():
    constant = re.search(r"pub const MAX_RECEIVE_COUNT: u32 = (\d+);", (REPO / "shared/edge/src/batch.rs").read_text())
    counts = {
        logical_id: resource["Properties"]["RedrivePolicy"]["maxReceiveCount"]
        for logical_id, resource in TEMPLATE["Resources"].items()
        if resource.get("Type") == "AWS::SQS::Queue" and "RedrivePolicy" in (resource.get("Properties") or {})
    }
    assert len(counts) == 3, counts
    assert set(counts.values()) == {int(constant.group(1))}
