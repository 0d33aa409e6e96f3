"""The back office's queue catalogue (functions/ops/src/queues.rs, `KNOWN`) and template.yaml
agree: every dead-letter or failure queue of the template is known, the ops function watches
exactly those (OPS_QUEUES), and a redrivable queue delivers its events back to the queue the
template makes it the dead-letter queue of (the same answer `./dev redrive` finds)."""

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


@pytest.mark.parametrize("queue", sorted(KNOWN))
def test_a_redrivable_queue_delivers_where_the_template_says(queue):
    if KNOWN[queue] is None:
        with pytest.raises(ValueError):
            running.redrive_target(TEMPLATE, queue)
    else:
        assert running.redrive_target(TEMPLATE, queue) == KNOWN[queue]
