"""The emulator's TransactWriteItems keeps DynamoDB's all-or-nothing semantics (and stays
fast on a large table): infra/local/stakeline_local/moto_patches.py."""

import time
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def table(emulator):
    return emulator["outputs"]["WalletTableName"]


def key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "T"}}


def put(table: str, pk: str, condition: str | None = None, **attrs) -> dict:
    item = {**key(pk), **{k: {"N": str(v)} for k, v in attrs.items()}}
    op = {"TableName": table, "Item": item}
    if condition:
        op["ConditionExpression"] = condition
    return {"Put": op}


def test_all_writes_happen_when_every_condition_holds(aws, table):
    ddb = aws("dynamodb")
    a, b = f"tx-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
    ddb.transact_write_items(TransactItems=[put(table, a, "attribute_not_exists(pk)", v=1), put(table, b, "attribute_not_exists(pk)", v=2)])
    assert ddb.get_item(TableName=table, Key=key(a), ConsistentRead=True)["Item"]["v"]["N"] == "1"
    assert ddb.get_item(TableName=table, Key=key(b), ConsistentRead=True)["Item"]["v"]["N"] == "2"


def test_nothing_is_written_when_one_condition_fails_and_reasons_name_the_item(aws, table):
    ddb = aws("dynamodb")
    taken, fresh = f"tx-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
    ddb.put_item(TableName=table, Item={**key(taken), "v": {"N": "7"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[
            put(table, fresh, "attribute_not_exists(pk)", v=1),
            put(table, taken, "attribute_not_exists(pk)", v=8),
        ])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=table, Key=key(fresh), ConsistentRead=True)
    assert ddb.get_item(TableName=table, Key=key(taken), ConsistentRead=True)["Item"]["v"]["N"] == "7"


def test_a_condition_check_guards_other_writes(aws, table):
    ddb = aws("dynamodb")
    guard, target = f"tx-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
    ddb.put_item(TableName=table, Item={**key(guard), "version": {"N": "2"}})
    check = {"ConditionCheck": {"TableName": table, "Key": key(guard), "ConditionExpression": "version = :v",
                                "ExpressionAttributeValues": {":v": {"N": "1"}}}}
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[check, put(table, target, v=1)])
    assert "Item" not in ddb.get_item(TableName=table, Key=key(target), ConsistentRead=True)


def test_the_same_item_twice_in_one_transaction_is_refused(aws, table):
    ddb = aws("dynamodb")
    pk = f"tx-{uuid.uuid4()}"
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[put(table, pk, v=1), put(table, pk, v=2)])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName=table, Key=key(pk), ConsistentRead=True)


def test_a_transaction_never_copies_a_whole_table(monkeypatch):
    """Unpatched moto deep-copies every table a transaction touches (cost proportional to the
    table: ~1 s per transaction at 10,000 items). The patch copies at most the touched items."""
    import copy
    import os

    import boto3
    from moto import mock_aws
    from moto.dynamodb.models.table import Table
    from stakeline_local import moto_patches

    moto_patches.install()
    copied_tables = []
    real_deepcopy = copy.deepcopy

    def watching_deepcopy(value, *args, **kwargs):
        if isinstance(value, Table):
            copied_tables.append(value.name)
        return real_deepcopy(value, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", watching_deepcopy)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "test")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}])
        ddb.transact_write_items(TransactItems=[put("t", "a", "attribute_not_exists(pk)", v=1)])
        with pytest.raises(ClientError):
            ddb.transact_write_items(TransactItems=[put("t", "b", v=1), put("t", "a", "attribute_not_exists(pk)", v=2)])
        assert "Item" not in ddb.get_item(TableName="t", Key=key("b"))
    assert copied_tables == []


# -- EventBridge and DynamoDB Streams, as AWS answers ----------------------------------------


def test_an_event_bus_has_its_name_as_physical_id(emulator):
    assert emulator["resources"]["WalletEventBus"] == emulator["outputs"]["EventBusName"]


@pytest.fixture
def local_moto():
    """An emulator in this process (the patches are installed here too), for what needs time
    to pass."""
    from stakeline_local import emulator as local_emulator

    server = local_emulator.MotoServer()
    endpoint = server.start()
    yield lambda service: local_emulator.aws_client(service, endpoint)
    server.stop()


def _streamed_table(client) -> str:
    name = f"streams-{uuid.uuid4().hex[:8]}"
    client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return client("dynamodb").describe_table(TableName=name)["Table"]["LatestStreamArn"]


def test_shard_iterators_expire_like_on_aws(local_moto, monkeypatch):
    from stakeline_local import moto_patches

    stream_arn = _streamed_table(local_moto)
    streams = local_moto("dynamodbstreams")
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    answer = streams.get_records(ShardIterator=iterator)
    assert answer["Records"] == [] and answer["NextShardIterator"], "moto: an open shard always has a next iterator"
    monkeypatch.setattr(moto_patches, "SHARD_ITERATOR_LIFETIME_SECONDS", 0.2)
    time.sleep(0.3)
    with pytest.raises(ClientError) as expired:
        streams.get_records(ShardIterator=answer["NextShardIterator"])
    assert expired.value.response["Error"]["Code"] == "ExpiredIteratorException"
    with pytest.raises(ClientError) as unknown:
        streams.get_records(ShardIterator="not-an-iterator")
    assert unknown.value.response["Error"]["Code"] == "ExpiredIteratorException"


def test_an_unknown_shard_is_not_found(local_moto):
    stream_arn = _streamed_table(local_moto)
    with pytest.raises(ClientError) as missing:
        local_moto("dynamodbstreams").get_shard_iterator(
            StreamArn=stream_arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="TRIM_HORIZON")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_transactions_show_up_on_the_stream(aws, table):
    """The outbox is written by TransactWriteItems: each of its writes is a stream record."""
    ddb = aws("dynamodb")
    a, b = f"tx-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
    ddb.transact_write_items(TransactItems=[put(table, a, "attribute_not_exists(pk)", v=1), put(table, b, v=2)])
    stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = aws("dynamodbstreams")
    [shard] = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    keys = []
    while iterator:
        answer = streams.get_records(ShardIterator=iterator)
        if not answer["Records"]:
            break
        keys += [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in answer["Records"]]
        iterator = answer["NextShardIterator"]
    assert keys.index(("INSERT", a)) + 1 == keys.index(("INSERT", b)), "in the transaction's order"
