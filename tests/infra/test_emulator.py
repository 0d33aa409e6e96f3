"""`stack.py emulator`: moto provisioned from template.yaml, as the Rust harness starts it."""

import json
import re
import threading
import time
import uuid

from stakeline_local import emulator as local_emulator
from stakeline_local.template import load_template


def test_ready_line_describes_the_provisioned_stack(emulator):
    assert emulator["endpoint"].startswith("http://127.0.0.1:")
    assert set(emulator) == {"endpoint", "region", "stack", "outputs", "resources"}
    assert emulator["outputs"]["WalletTableName"] == emulator["resources"]["WalletTable"]
    assert not [k for k in emulator["outputs"] if k.startswith("StakelineLocalEnv")]
    for logical_id in ("RegisterFunction", "DepositFunction", "WalletReadFunction", "WalletHttpApi",
                       "PlaceBetFunction", "SettleFunction", "SettleQueueFunction", "PublisherFunction",
                       "BonusAwardFunction"):
        assert logical_id not in emulator["resources"]
    assert all(emulator["resources"]), "no resource without a logical id"


def test_table_has_the_wallet_schema_and_stream(emulator, aws):
    table = aws("dynamodb").describe_table(TableName=emulator["outputs"]["WalletTableName"])["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]) == [
        ("hpk", "S"),
        ("hsk", "S"),
        ("pk", "S"),
        ("sk", "S"),
        ("wpk", "S"),
        ("wsk", "S"),
        ("wstatus", "S"),
    ]
    indexes = {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        "history": ["hpk", "hsk"],
        "withdrawals-by-status": ["wstatus", "wsk"],
        "withdrawals-by-player": ["wpk", "wsk"],
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_writes_show_up_on_the_stream(emulator, aws):
    name = emulator["outputs"]["WalletTableName"]
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "PLAYER#stream-test"}, "sk": {"S": "WALLET"}})
    stream_arn = dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = aws("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    keys = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]
    assert ("INSERT", "PLAYER#stream-test") in keys


def test_provisioning_again_keeps_the_same_stack(emulator, repo_root):
    again = local_emulator.provision(
        emulator["endpoint"], load_template(repo_root / "template.yaml"),
        region=emulator["region"], stack=emulator["stack"],
    )
    assert again.resources == emulator["resources"]
    assert again.outputs == emulator["outputs"]


def test_lifeline_stops_the_emulator_when_stdin_closes():
    process, ready = local_emulator.spawn("--stack", "lifeline-test")
    assert ready["stack"] == "lifeline-test"
    started = time.monotonic()
    assert local_emulator.close(process) == 0
    assert time.monotonic() - started < 10


def test_a_taken_port_falls_back_to_a_free_one(emulator):
    taken = int(emulator["endpoint"].rsplit(":", 1)[1])
    process, ready = local_emulator.spawn("--port", str(taken))
    try:
        assert ready["endpoint"] != emulator["endpoint"]
    finally:
        local_emulator.close(process)


MESSAGING = """
Parameters:
  Stage: {Type: String, Default: dev}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Stage}-settlements"
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-bus"}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [stakeline]}
      Targets: [{Id: queue, Arn: !GetAtt Queue.Arn}]
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Settlements: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
Outputs:
  QueueUrl: {Value: !Ref Queue}
"""


def test_moto_pitfalls_are_worked_around(emulator, aws, tmp_path):
    path = tmp_path / "messaging.yaml"
    path.write_text(MESSAGING)
    provisioned = local_emulator.provision(
        emulator["endpoint"], load_template(path), region=emulator["region"], stack="pitfalls"
    )
    # `EventBusName: !Ref Bus` alone makes moto fail; the rule must exist on the bus.
    rules = aws("events").list_rules(EventBusName="pitfalls-bus")["Rules"]
    assert len(rules) == 1
    # Queue URLs point at the emulator, not at an AWS host name.
    url = provisioned.resources["Queue"]
    assert url.startswith(emulator["endpoint"]) and provisioned.outputs["QueueUrl"] == url
    aws("sqs").send_message(QueueUrl=url, MessageBody="{}")
    assert "Consumer" not in provisioned.resources


def test_queue_urls_inside_other_text_point_at_the_emulator_too():
    remote, local = "https://sqs.us-east-1.amazonaws.com/1/q-A", "http://127.0.0.1:5/1/q-A"
    assert local_emulator.with_local_url(remote, remote, local) == local
    assert local_emulator.with_local_url(f"Q={remote} R={remote}-B", remote, local) == f"Q={local} R={remote}-B"
    assert local_emulator.with_local_url(f"{remote}/x {remote}.fifo", remote, local) == f"{remote}/x {remote}.fifo"


def test_ops_gets_the_local_urls_of_every_dead_letter_queue_and_the_bus(emulator, aws, repo_root):
    """OPS_QUEUES (LogicalId=QueueUrl pairs in one !Sub) and EVENT_BUS_NAME resolve through moto to
    the emulator's own queue URLs and the bus, as on AWS to the stack's."""
    provisioned = local_emulator.provision(
        emulator["endpoint"], load_template(repo_root / "template.yaml"),
        region=emulator["region"], stack="ops-environment",
    )
    variables = {variable: value for (function, variable), value in provisioned.environment.items()
                 if function == "OpsFunction"}
    assert variables["EVENT_BUS_NAME"] == provisioned.outputs["EventBusName"]
    pairs = dict(pair.split("=", 1) for pair in variables["OPS_QUEUES"].split())
    assert list(pairs) == ["SettlementDeadLetterQueue", "OutboxFailureQueue", "BonusDeadLetterQueue",
                           "BonusRuleDeadLetterQueue", "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue"]
    sqs = aws("sqs")
    for logical_id, url in pairs.items():
        assert url == provisioned.resources[logical_id] and url.startswith(emulator["endpoint"] + "/"), logical_id
        assert "ApproximateNumberOfMessages" in sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    # The console's buckets exist locally; what moto cannot create (CloudFront, bucket
    # policies) is left out without failing the stack.
    assert {"ConsoleBucket", "ConsoleLogBucket"} <= set(provisioned.resources)
    assert not {"ConsoleDistribution", "ConsoleBucketPolicy"} & set(provisioned.resources)


def test_settlement_queues_are_provisioned_with_the_redrive_policy(emulator, aws):
    sqs = aws("sqs")
    resources, outputs = emulator["resources"], emulator["outputs"]
    queue_url, dlq_url = resources["SettlementQueue"], resources["SettlementDeadLetterQueue"]
    for url in (queue_url, dlq_url):
        assert url.startswith(emulator["endpoint"] + "/"), "queue URLs point at the emulator"
    assert outputs["SettlementQueueUrl"] == queue_url
    assert queue_url.endswith("/" + outputs["SettlementQueueName"])
    assert dlq_url.endswith("/" + outputs["SettlementDeadLetterQueueName"])

    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    assert json.loads(queue["RedrivePolicy"]) == {"deadLetterTargetArn": dlq["QueueArn"], "maxReceiveCount": 5}
    assert queue["VisibilityTimeout"] == "190"
    for attributes in (queue, dlq):
        assert attributes["MessageRetentionPeriod"] == "1209600"
        assert attributes["SqsManagedSseEnabled"] == "true"
    assert "RedrivePolicy" not in dlq
    # moto's CloudFormation cannot create the queue policy; it is left out, not half-made.
    assert "SettlementQueuePolicy" not in resources


def _scratch_queue(aws) -> str:
    return aws("sqs").create_queue(QueueName=f"long-poll-{uuid.uuid4().hex[:12]}")["QueueUrl"]


def test_a_long_poll_neither_blocks_other_requests_nor_misses_a_message(emulator, aws):
    sqs, dynamodb = aws("sqs"), aws("dynamodb")
    url = _scratch_queue(aws)
    answer = {}

    def long_poll():
        started = time.monotonic()
        answer["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        answer["seconds"] = time.monotonic() - started

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.3)  # let it start waiting
    started = time.monotonic()
    dynamodb.describe_table(TableName=emulator["outputs"]["WalletTableName"])
    assert time.monotonic() - started < 1, "a waiting ReceiveMessage held the emulator"
    aws("sqs").send_message(QueueUrl=url, MessageBody="hello")
    poller.join(timeout=10)
    assert [m["Body"] for m in answer["messages"]] == ["hello"]
    assert answer["seconds"] < 5, "the long poll did not answer when the message arrived"


def test_an_empty_long_poll_waits_its_time(aws):
    url = _scratch_queue(aws)
    started = time.monotonic()
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    assert 0.9 <= time.monotonic() - started < 5


def test_stopping_the_server_ends_pending_long_polls():
    server = local_emulator.MotoServer()
    endpoint = server.start()
    sqs = local_emulator.aws_client("sqs", endpoint)
    url = sqs.create_queue(QueueName="stopping")["QueueUrl"]
    answer = {}

    def long_poll():
        answer["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])

    poller = threading.Thread(target=long_poll)
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    poller.join(timeout=10)
    assert answer == {"messages": []}
    assert time.monotonic() - started < 5


ENVELOPE_KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]


def test_the_table_has_its_history_index(emulator, aws):
    table = aws("dynamodb").describe_table(TableName=emulator["outputs"]["WalletTableName"])["Table"]
    [index] = [i for i in table["GlobalSecondaryIndexes"] if i["IndexName"] == "history"]
    assert index["KeySchema"] == [{"AttributeName": "hpk", "KeyType": "HASH"}, {"AttributeName": "hsk", "KeyType": "RANGE"}]
    assert index["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["entries"]}


def test_the_table_has_the_operators_withdrawal_indexes(emulator, aws):
    table = aws("dynamodb").describe_table(TableName=emulator["outputs"]["WalletTableName"])["Table"]
    by_name = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    for name, partition in (("withdrawals-by-status", "wstatus"), ("withdrawals-by-player", "wpk")):
        index = by_name[name]
        assert index["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "wsk", "KeyType": "RANGE"},
        ]
        assert index["Projection"]["ProjectionType"] == "INCLUDE"
        assert set(index["Projection"]["NonKeyAttributes"]) == {
            "withdrawal_id", "player_id", "version", "payload", "recorded",
        }


def test_the_bus_the_rule_and_the_bonus_queues_are_provisioned(emulator, aws):
    resources, outputs = emulator["resources"], emulator["outputs"]
    bus = outputs["EventBusName"]
    assert bus == f"{emulator['stack']}-wallet" and resources["WalletEventBus"] == bus
    events, sqs = aws("events"), aws("sqs")
    assert events.describe_event_bus(Name=bus)["Name"] == bus

    rules = {r["Name"]: r for r in events.list_rules(EventBusName=bus)["Rules"]}
    assert set(rules) == {resources["FirstDepositBonusRule"], resources["WithdrawalApprovedRule"]}
    rule = rules[resources["FirstDepositBonusRule"]]
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == {
        "source": ["stakeline.wallet"], "detail-type": ["DepositCompleted"], "detail": {"first_deposit": [True]},
    }
    attributes = {
        logical_id: sqs.get_queue_attributes(QueueUrl=resources[logical_id], AttributeNames=["All"])["Attributes"]
        for logical_id in ("BonusQueue", "BonusDeadLetterQueue", "BonusRuleDeadLetterQueue", "OutboxFailureQueue")
    }
    [target] = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    assert target["Arn"] == attributes["BonusQueue"]["QueueArn"]
    assert target["DeadLetterConfig"] == {"Arn": attributes["BonusRuleDeadLetterQueue"]["QueueArn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}

    queue = attributes["BonusQueue"]
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": attributes["BonusDeadLetterQueue"]["QueueArn"], "maxReceiveCount": 5,
    }
    assert queue["VisibilityTimeout"] == "190"
    for logical_id, queue_attributes in attributes.items():
        assert queue_attributes["MessageRetentionPeriod"] == "1209600", logical_id
        assert queue_attributes["SqsManagedSseEnabled"] == "true", logical_id
        assert resources[logical_id].startswith(emulator["endpoint"] + "/"), logical_id
    assert outputs["BonusQueueName"] == queue["QueueArn"].rsplit(":", 1)[1]
    assert outputs["BonusDeadLetterQueueName"] == attributes["BonusDeadLetterQueue"]["QueueArn"].rsplit(":", 1)[1]
    # moto's CloudFormation cannot create queue policies: left out, not half-made.
    assert "BonusQueuePolicy" not in resources and "BonusRuleDeadLetterQueuePolicy" not in resources


def test_approved_withdrawals_are_routed_to_the_payout_queue(emulator, aws):
    resources, outputs = emulator["resources"], emulator["outputs"]
    events, sqs = aws("events"), aws("sqs")
    bus = outputs["EventBusName"]
    rule = resources["WithdrawalApprovedRule"]
    assert json.loads(events.describe_rule(Name=rule, EventBusName=bus)["EventPattern"]) == {
        "source": ["stakeline.wallet"], "detail-type": ["WithdrawalApproved"],
    }
    attributes = {
        logical_id: sqs.get_queue_attributes(QueueUrl=resources[logical_id], AttributeNames=["All"])["Attributes"]
        for logical_id in ("PayoutQueue", "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue")
    }
    [target] = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert target["Arn"] == attributes["PayoutQueue"]["QueueArn"]
    assert target["DeadLetterConfig"] == {"Arn": attributes["PayoutRuleDeadLetterQueue"]["QueueArn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    queue = attributes["PayoutQueue"]
    assert json.loads(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": attributes["PayoutDeadLetterQueue"]["QueueArn"], "maxReceiveCount": 5,
    }
    assert queue["VisibilityTimeout"] == "180"
    for logical_id, queue_attributes in attributes.items():
        assert queue_attributes["MessageRetentionPeriod"] == "1209600", logical_id
        assert queue_attributes["SqsManagedSseEnabled"] == "true", logical_id
    assert outputs["PayoutQueueName"] == queue["QueueArn"].rsplit(":", 1)[1]


def _drain(sqs, url: str) -> list[dict]:
    """Every message now in the queue (moto delivers at PutEvents time), deleted."""
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch


def test_first_deposits_put_on_the_bus_land_in_the_bonus_queue_and_nothing_else_does(emulator, aws):
    """EventBridge -> SQS is moto's own work, through the provisioned rule, at PutEvents time."""
    events, sqs = aws("events"), aws("sqs")
    bus, queue = emulator["outputs"]["EventBusName"], emulator["resources"]["BonusQueue"]
    rule_dlq = emulator["resources"]["BonusRuleDeadLetterQueue"]
    _drain(sqs, queue)
    run = uuid.uuid4().hex[:8]

    def entry(detail_type, first_deposit, source="stakeline.wallet", **more):
        detail = {"event_id": f"{detail_type}:{run}-{first_deposit}-{source}", "player_id": "p",
                  "first_deposit": first_deposit, "amount": 5000, "currency": "EUR", **more}
        return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}

    first = entry("DepositCompleted", True)
    answer = events.put_events(Entries=[
        first,
        entry("DepositCompleted", False),
        entry("BetPlaced", True),
        entry("DepositCompleted", True, source="someone.else"),
    ])
    assert answer["FailedEntryCount"] == 0
    [message] = _drain(sqs, queue)
    envelope = json.loads(message["Body"])
    assert list(envelope) == ENVELOPE_KEYS, "the envelope EventBridge delivers, keys in its order"
    assert envelope["version"] == "0" and envelope["id"] == answer["Entries"][0]["EventId"]
    assert (envelope["source"], envelope["detail-type"]) == ("stakeline.wallet", "DepositCompleted")
    assert envelope["account"] == "123456789012" and envelope["region"] == emulator["region"]
    assert envelope["resources"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", envelope["time"])
    assert envelope["detail"] == json.loads(first["Detail"])
    # Events on the default bus never reach the wallet rule.
    events.put_events(Entries=[{**first, "EventBusName": "default"}])
    assert _drain(sqs, queue) == [] and _drain(sqs, rule_dlq) == []
