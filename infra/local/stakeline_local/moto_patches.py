"""Corrections to moto that the local stack needs to behave like DynamoDB.

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
"""

from __future__ import annotations

import copy
from typing import Any

_installed = False


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
    _installed = True
