"""Corrections to moto that the local stack needs to behave like AWS.

moto's TransactWriteItems deep-copies every table a transaction touches, so that it can roll
back: each transaction costs time proportional to the WHOLE table (1 s per transaction at
10,000 items, measured), which makes a long-running local suite or a load test crawl. It
also applies writes before it knows the transaction succeeds, then restores the copy.

DynamoDB's semantics are simpler: every condition is evaluated against the state before the
transaction, and then either all writes happen or none does. That is what
``transact_write_items`` below does: check every item first, cancel with per-item reasons if
any check fails (nothing written), otherwise apply the writes. The emulator serves one request
at a time (see ``emulator.serialized``), so nothing can change between the checks and the
writes. Only if moto itself fails while applying are the touched items restored, from copies
of those items alone.

The other corrections make moto answer the way AWS does where the local suite relies on it:

- EventBridge delivers to SQS the event envelope AWS sends (``version``, ``id``,
  ``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``, ``detail``, in
  that order); moto 5.2.5 leaves out ``account`` and orders the keys its own way.
- An AWS::Events::EventBus created by CloudFormation has its name as physical id (what ``Ref``
  returns on AWS); moto 5.2.5 lists it with an empty one.
- DynamoDB Streams shard iterators expire 15 minutes after they were handed out, as on AWS.
  moto keeps every iterator forever (every GetRecords makes a new one: a poller polling a few
  times a second would grow the emulator by megabytes an hour), answers 500 for an unknown
  one and for an unknown shard. Here an expired or unknown iterator is an
  ExpiredIteratorException and an unknown shard a ResourceNotFoundException.
"""

from __future__ import annotations

import copy
import time
from typing import Any

_installed = False

# AWS: "A shard iterator expires 15 minutes after it is returned to the requester."
SHARD_ITERATOR_LIFETIME_SECONDS = 15 * 60

# The envelope EventBridge delivers to an SQS target, keys in AWS's order.
EVENTBRIDGE_ENVELOPE_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        seen: set[tuple[str, str]] = set()
        plan: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = []
        errors: list[tuple[Any, Any, Any]] = []
        for item in transact_items:
            if len(item) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(item.items()))
            original_item = None
            try:
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                if op_type == "Put":
                    table = self.get_table(table_name)
                    attrs = op["Item"]
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]
                identity = (str(table_name), str(dict(sorted(key.items()))))
                if identity in seen:
                    raise MultipleTransactionsException()
                seen.add(identity)
                current = self.get_item(table_name, key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    check = get_filter_expression(
                        condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                    )
                    if not check.expr(current):
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                errors.append((None, None, None))
                plan.append((op_type, op, table_name, key))
            except MultipleTransactionsException:
                raise
            except ConditionalCheckFailed as failed:
                errors.append(("ConditionalCheckFailed", str(failed.message), original_item))
            except Exception as failed:  # moto reports other per-item problems the same way
                errors.append((type(failed).__name__, str(failed), original_item))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)

        backups = [(table_name, key, copy.deepcopy(self.get_item(table_name, key))) for _, _, table_name, key in plan]
        try:
            for op_type, op, table_name, key in plan:
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(table_name, op["Item"], expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Delete":
                    self.delete_item(table_name, key, expression_attribute_names=names, expression_attribute_values=values)
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
        except Exception:
            for table_name, key, before in backups:
                if before is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before.to_json()["Attributes"])
            raise

    DynamoDBBackend.transact_write_items = transact_write_items
    _install_eventbridge_fixes()
    _install_stream_iterator_lifetime()
    _installed = True


def _install_eventbridge_fixes() -> None:
    from moto.events.models import EventBus
    from moto.events.utils import EventTemplateParser

    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = EVENTBRIDGE_ENVELOPE_TEMPLATE
    if not hasattr(EventBus, "physical_resource_id"):
        EventBus.physical_resource_id = property(lambda self: self.name)


def _install_stream_iterator_lifetime() -> None:
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator
    original_get_records = DynamoDBStreamsBackend.get_records

    def issued(backend) -> dict[str, float]:
        return backend.__dict__.setdefault("_stakeline_issued_iterators", {})

    def forget_expired(backend) -> None:
        born = issued(backend)
        oldest = time.monotonic() - SHARD_ITERATOR_LIFETIME_SECONDS
        for arn in [arn for arn, at in born.items() if at < oldest]:
            del born[arn]
            backend.shard_iterators.pop(arn, None)

    def get_shard_iterator(self, arn, shard_id, shard_iterator_type, sequence_number=None):
        table = self._get_table_from_arn(arn)
        if table.stream_shard is None or table.stream_shard.id != shard_id:
            raise JsonRESTError(
                "ResourceNotFoundException",
                f"Requested resource not found: Shard: {shard_id} in Stream: {arn}",
            )
        forget_expired(self)
        iterator = original_get_shard_iterator(self, arn, shard_id, shard_iterator_type, sequence_number)
        issued(self)[iterator.arn] = time.monotonic()
        return iterator

    def get_records(self, iterator_arn, limit):
        forget_expired(self)
        if iterator_arn not in self.shard_iterators:
            raise JsonRESTError(
                "ExpiredIteratorException",
                "Iterator expired (shard iterators last 15 minutes) or was never issued by this stream",
            )
        result = original_get_records(self, iterator_arn, limit)
        issued(self)[result["NextShardIterator"]] = time.monotonic()
        return result

    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator
    DynamoDBStreamsBackend.get_records = get_records
