"""The stack's monitoring (template.yaml's "Monitoring" section): every dead-letter and failure
queue and every function has its alarms, every alarm notifies AlarmTopic and names a runbook
section of OPERATIONS.md that exists, each alarm watches a metric the code really emits (or
AWS's, with the dimensions AWS publishes it with), and the dashboard shows the money flow.
tests/infra/test_cdk_equivalence.py holds the CDK app to all of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stakeline_local.template import functions, schedule_event_sources, stream_event_sources

REPO_ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = REPO_ROOT / "OPERATIONS.md"
TOPIC = {"Ref": "AlarmTopic"}
RUNBOOK = re.compile(r"Runbook: OPERATIONS\.md#([a-z0-9-]+)$")
# The operations the functions call on the table (ThrottledRequests is published per operation).
DYNAMODB_OPERATIONS = {
    "get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem", "delete_item": "DeleteItem",
    "query": "Query", "scan": "Scan", "batch_get_item": "BatchGetItem", "batch_write_item": "BatchWriteItem",
    "transact_get_items": "TransactGetItems", "transact_write_items": "TransactWriteItems",
}


# --- Reading the template ------------------------------------------------------------------------

def alarms(template: dict) -> dict[str, dict]:
    return {i: r["Properties"] for i, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def watching(template: dict, namespace: str, metric: str) -> dict[str, dict]:
    """The simple (not metric-math) alarms on ``namespace``/``metric``."""
    return {i: p for i, p in alarms(template).items() if (p.get("Namespace"), p.get("MetricName")) == (namespace, metric)}


def dimensions(properties: dict) -> dict:
    return {d["Name"]: d["Value"] for d in properties.get("Dimensions", [])}


def dead_letter_and_failure_queues(template: dict) -> set[str]:
    """Where failed messages and batches go: queues' redrive targets, rule targets' dead-letter
    queues, stream events' on-failure destinations."""
    resources = template["Resources"]
    found = {
        r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for r in resources.values() if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    found |= {
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for r in resources.values() if r["Type"] == "AWS::Events::Rule"
        for target in r["Properties"].get("Targets", []) if "DeadLetterConfig" in target
    }
    found |= {event.on_failure for _, event in stream_event_sources(template) if event.on_failure}
    return found


def function_ids(template: dict) -> dict[str, str]:
    """Function logical id -> binary."""
    return {f.logical_id: f.binary for f in functions(template)}


def writers(template: dict) -> set[str]:
    """The functions that change the wallet: they may PutItem on the table (every change is one
    TransactWriteItems of puts and condition checks)."""
    table = {"Fn::GetAtt": ["WalletTable", "Arn"]}
    found = set()
    for logical_id, binary in function_ids(template).items():
        for policy in template["Resources"][logical_id]["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                if "dynamodb:PutItem" in statement["Action"] and statement["Resource"] == table:
                    found.add(binary)
    return found


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, re.M):
        text = re.sub(r"[`*_]", "", heading).strip().lower()
        anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return anchors


def production_rust(repo_root: Path) -> str:
    """Every Rust source of the functions and the shared crates (tests included: only names are
    looked for)."""
    return "\n".join(p.read_text(encoding="utf-8") for d in ("functions", "shared") for p in (repo_root / d).rglob("*.rs"))


# --- Every queue and every function is watched ---------------------------------------------------

def test_every_dead_letter_and_failure_queue_has_a_depth_alarm(template):
    queues = dead_letter_and_failure_queues(template)
    assert len(queues) == 6, queues
    depth = watching(template, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {}
    for logical_id, properties in depth.items():
        [(name, value)] = dimensions(properties).items()
        assert name == "QueueName" and value["Fn::GetAtt"][1] == "QueueName", logical_id
        watched[value["Fn::GetAtt"][0]] = (logical_id, properties)
    assert set(watched) == queues
    for queue, (logical_id, properties) in watched.items():
        assert logical_id == f"{queue}DepthAlarm"
        # Any message at all, seen at any moment of 5 minutes.
        assert (properties["Statistic"], properties["Period"], properties["EvaluationPeriods"]) == ("Maximum", 300, 1)
        assert (properties["Threshold"], properties["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        # An empty queue that nobody touches stops reporting: nothing to say then.
        assert properties["TreatMissingData"] == "notBreaching"
        assert RUNBOOK.search(properties["AlarmDescription"]).group(1) == queue.lower()


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_its_errors_and_throttles_alarms(template, metric):
    alarmed = {}
    for logical_id, properties in watching(template, "AWS/Lambda", metric).items():
        assert list(dimensions(properties)) == ["FunctionName"], logical_id
        alarmed[dimensions(properties)["FunctionName"]["Ref"]] = properties
    assert set(alarmed) == set(function_ids(template))
    anchor = "function-errors" if metric == "Errors" else "function-throttles"
    for function, properties in alarmed.items():
        assert (properties["Statistic"], properties["Period"], properties["Threshold"]) == ("Sum", 300, 0), function
        assert properties["ComparisonOperator"] == "GreaterThanThreshold"
        assert properties["TreatMissingData"] == "notBreaching", "no invocation, no datum: nothing failed"
        assert RUNBOOK.search(properties["AlarmDescription"]).group(1) == anchor
        assert properties["AlarmDescription"].startswith(function_ids(template)[function] + ":")


def test_every_alarm_notifies_the_topic_and_names_a_runbook_section_that_exists(template):
    anchors = github_anchors(OPERATIONS.read_text(encoding="utf-8"))
    named = set()
    for logical_id, properties in alarms(template).items():
        assert properties["AlarmActions"] == [TOPIC] and properties["OKActions"] == [TOPIC], logical_id
        assert "InsufficientDataActions" not in properties, logical_id
        assert properties.get("TreatMissingData") in ("notBreaching", "breaching"), f"{logical_id}: chosen, not left out"
        description = properties["AlarmDescription"]
        assert len(description) <= 1024, logical_id
        found = RUNBOOK.search(description)
        assert found, f"{logical_id}: its description ends with 'Runbook: OPERATIONS.md#<section>'"
        assert found.group(1) in anchors, f"{logical_id}: OPERATIONS.md has no section #{found.group(1)}"
        named.add(found.group(1))
    # …and every alarm section of OPERATIONS.md belongs to an alarm.
    text = OPERATIONS.read_text(encoding="utf-8")
    alarm_part = text[text.index("\n## Alarms"):]
    alarm_part = alarm_part[:alarm_part.find("\n## ", 1)] if "\n## " in alarm_part[1:] else alarm_part
    sections = github_anchors("\n".join(re.findall(r"^### .+$", alarm_part, re.M)))
    assert sections == named, f"alarm sections without an alarm: {sections - named}; alarms without: {named - sections}"


def test_alarm_names_are_the_stacks_own_and_unique(template):
    """The topic's policy and the key's admit CloudWatch for alarms named <stack>-*, only."""
    names = [properties["AlarmName"]["Fn::Sub"] for properties in alarms(template).values()]
    assert all(re.fullmatch(r"\$\{AWS::StackName\}-[A-Za-z0-9-]+", name) for name in names), names
    assert len(names) == len(set(names))


# --- What each alarm watches ---------------------------------------------------------------------

def test_the_publisher_alarms_when_a_minute_behind_the_stream_three_minutes_in_a_row(template):
    [(logical_id, properties)] = watching(template, "AWS/Lambda", "IteratorAge").items()
    assert dimensions(properties) == {"FunctionName": {"Ref": "PublisherFunction"}}
    assert (properties["Statistic"], properties["Period"]) == ("Maximum", 60)
    assert (properties["EvaluationPeriods"], properties["DatapointsToAlarm"]) == (3, 3)
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (60000, "GreaterThanThreshold")


def test_refused_and_unanswered_payouts_alarm(template):
    by_outcome = {dimensions(p)["outcome"]: p for p in watching(template, "Stakeline", "payouts").values()}
    assert set(by_outcome) == {"refused", "unanswered"}, "an accepted payout is no alarm"
    for outcome, properties in by_outcome.items():
        assert dimensions(properties) == {"function": "payout", "outcome": outcome}
        assert (properties["Statistic"], properties["Period"], properties["Threshold"]) == ("Sum", 300, 0)
        assert RUNBOOK.search(properties["AlarmDescription"]).group(1) == f"payouts-{outcome}"


def test_the_review_queue_age_alarm_fires_past_the_parameter_or_when_review_age_goes_quiet(template):
    [(logical_id, properties)] = watching(template, "Stakeline", "oldest_review_age_seconds").items()
    assert logical_id == "ReviewQueueAgeAlarm"
    assert dimensions(properties) == {"function": "review-age"}
    assert properties["Statistic"] == "Maximum"
    assert properties["Threshold"] == {"Ref": "ReviewAgeAlarmSeconds"}
    parameter = template["Parameters"]["ReviewAgeAlarmSeconds"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", 14400)
    # review-age reports every five minutes: a period holds three reports, and none means it
    # stopped measuring (the function says so too: a failed read reports nothing).
    [(function, event)] = schedule_event_sources(template)
    assert function.binary == "review-age" and event.schedule == "rate(5 minutes)"
    assert properties["Period"] == 3 * 300 and properties["EvaluationPeriods"] == 1
    assert properties["TreatMissingData"] == "breaching"


def test_the_table_alarms_on_throttling_of_every_operation_the_functions_call(template, repo_root):
    called = set()
    source = production_rust(repo_root)
    for method, operation in DYNAMODB_OPERATIONS.items():
        if re.search(rf"\.\s*{method}\s*\(\s*\)", source):
            called.add(operation)
    assert {"GetItem", "Query", "TransactWriteItems"} <= called
    [properties] = [p for i, p in alarms(template).items() if i == "TableThrottledRequestsAlarm"]
    metrics = {m["Id"]: m for m in properties["Metrics"]}
    [result] = [m for m in metrics.values() if m.get("ReturnData", True)]
    inputs = [m for m in metrics.values() if not m.get("ReturnData", True)]
    # ThrottledRequests exists per TableName and Operation only: one metric per operation.
    assert {dimensions(m["MetricStat"]["Metric"])["Operation"] for m in inputs} == called
    for metric in inputs:
        stat = metric["MetricStat"]
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/DynamoDB", "ThrottledRequests")
        assert dimensions(stat["Metric"])["TableName"] == {"Ref": "WalletTable"}
        assert (stat["Stat"], stat["Period"]) == ("Sum", 300)
    assert result["Expression"] == "SUM([" + ", ".join(m["Id"] for m in inputs) + "])"
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        [table_alarm] = watching(template, "AWS/DynamoDB", metric).values()
        assert dimensions(table_alarm) == {"TableName": {"Ref": "WalletTable"}}
        assert (table_alarm["Statistic"], table_alarm["Threshold"]) == ("Sum", 0)
        assert RUNBOOK.search(table_alarm["AlarmDescription"]).group(1) == "table-throttling"


def test_every_function_that_changes_the_wallet_alarms_when_its_retries_run_out(template):
    alarmed = {dimensions(p)["function"]: p for p in watching(template, "Stakeline", "contention_exhausted").values()}
    assert set(alarmed) == writers(template)
    assert {"deposit", "place-bet", "settle", "settle-queue", "withdraw", "payout", "bonus-award"} <= set(alarmed)
    for binary, properties in alarmed.items():
        assert dimensions(properties) == {"function": binary}
        assert (properties["Statistic"], properties["Period"], properties["Threshold"]) == ("Sum", 300, 0)


def test_conditional_check_failures_alarm_above_the_parameter(template):
    [properties] = watching(template, "AWS/DynamoDB", "ConditionalCheckFailedRequests").values()
    assert dimensions(properties) == {"TableName": {"Ref": "WalletTable"}}
    assert (properties["Statistic"], properties["Period"]) == ("Sum", 300)
    assert properties["Threshold"] == {"Ref": "ConditionalCheckFailuresAlarmThreshold"}
    assert template["Parameters"]["ConditionalCheckFailuresAlarmThreshold"]["Default"] == 100


def test_the_api_alarms_on_its_5xx_rate_with_some_traffic(template):
    properties = alarms(template)["Api5xxRateAlarm"]
    metrics = {m["Id"]: m for m in properties["Metrics"]}
    for name, metric in (("errors", "5xx"), ("requests", "Count")):
        stat = metrics[name]["MetricStat"]
        # An HTTP API's metrics: AWS/ApiGateway by ApiId and Stage ($default: its only stage).
        assert (stat["Metric"]["Namespace"], stat["Metric"]["MetricName"]) == ("AWS/ApiGateway", metric)
        assert dimensions(stat["Metric"]) == {"ApiId": {"Ref": "WalletHttpApi"}, "Stage": "$default"}
        assert (stat["Stat"], stat["Period"], metrics[name]["ReturnData"]) == ("Sum", 300, False)
    [result] = [m for m in metrics.values() if m.get("ReturnData", True)]
    expression = result["Expression"]
    assert "100 * FILL(errors, 0) / requests" in expression
    assert re.match(r"IF\(FILL\(requests, 0\) >= (\d+), ", expression), "a rate only with some traffic"
    assert (properties["Threshold"], properties["ComparisonOperator"]) == (1, "GreaterThanThreshold")


def test_the_wallet_metrics_alarmed_on_are_emitted_by_the_code(template, repo_root):
    """Each Stakeline metric an alarm watches is a `metrics::counter!`/`gauge!` of the code, with
    the labels the alarm's dimensions name (and the `function` dimension a binary)."""
    source = production_rust(repo_root)
    assert 'pub const NAMESPACE: &str = "Stakeline";' in source
    binaries = set(function_ids(template).values())
    for logical_id, properties in alarms(template).items():
        if properties.get("Namespace") != "Stakeline":
            continue
        name = properties["MetricName"]
        assert re.search(rf'metrics::(counter|gauge)!\(\s*"{name}"', source), f"{logical_id}: no metric {name}"
        labels = dimensions(properties)
        assert labels.pop("function") in binaries, logical_id
        for label, value in labels.items():
            assert re.search(rf'"{name}",\s*"{label}"\s*=>\s*"{value}"', source), f"{logical_id}: {label}={value}"


# --- Where the alarms go -------------------------------------------------------------------------

STACK_ALARMS = {
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    "ArnLike": {"aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AWS::StackName}-*"}},
}


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use_for_this_stack_only(template):
    """Not SNS's AWS managed key (alias/aws/sns): CloudWatch cannot publish to a topic encrypted
    with it, its policy cannot be changed to admit CloudWatch."""
    resources = template["Resources"]
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmTopicKey", "Arn"]}
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    admin, cloudwatch = key["KeyPolicy"]["Statement"]
    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == STACK_ALARMS


def test_only_the_stacks_alarms_publish_and_only_over_tls(template):
    policy = template["Resources"]["AlarmTopicPolicy"]["Properties"]
    assert policy["Topics"] == [TOPIC]
    allow, deny = policy["PolicyDocument"]["Statement"]
    assert (allow["Effect"], allow["Principal"], allow["Action"]) == (
        "Allow", {"Service": "cloudwatch.amazonaws.com"}, "sns:Publish")
    assert allow["Resource"] == TOPIC and allow["Condition"] == STACK_ALARMS
    assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Resource"]) == ("Deny", "*", "sns:Publish", TOPIC)
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("email, valid", [
    ("", True), ("oncall@example.com", True), ("ops+stakeline@casino.example.mt", True),
    ("not an email", False), ("a@b", False), ("a@b.c d@e.f", False),
])
def test_an_email_is_subscribed_only_when_given(template, email, valid):
    parameter = template["Parameters"]["AlarmEmail"]
    assert parameter["Default"] == ""
    assert bool(re.fullmatch(parameter["AllowedPattern"], email)) is valid
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert template["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert subscription["Properties"] == {"TopicArn": TOPIC, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}


def test_the_topic_and_the_dashboard_are_outputs(template):
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == TOPIC
    assert template["Outputs"]["DashboardName"]["Value"] == {"Ref": "MoneyFlowDashboard"}


# --- The money-flow dashboard --------------------------------------------------------------------

MONEY_TYPES = ["DepositCompleted", "BetPlaced", "BetSettled", "BonusAwarded", "WithdrawalRequested", "WithdrawalPaid"]


@pytest.fixture(scope="module")
def dashboard(template) -> dict:
    """The dashboard's body, each ${…} of its Sub replaced by <…>, parsed."""
    resource = template["Resources"]["MoneyFlowDashboard"]["Properties"]
    assert resource["DashboardName"] == {"Fn::Sub": "${AWS::StackName}-money-flow"}
    text = resource["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", text))
    resources = set(template["Resources"])
    assert {n.split(".")[0] for n in names} <= resources | {"AWS::Region"}, names
    return json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: f"<{m.group(1)}>", text))


def metrics_shown(dashboard: dict) -> list:
    return [entry for widget in dashboard["widgets"] for entry in widget["properties"].get("metrics", [])]


def shown(dashboard: dict, namespace: str, name: str) -> list[dict]:
    """The dimensions of every metric ``namespace``/``name`` the dashboard shows."""
    found = []
    for entry in metrics_shown(dashboard):
        if entry[:2] == [namespace, name]:
            plain = [part for part in entry[2:] if isinstance(part, str)]
            found.append(dict(zip(plain[::2], plain[1::2])))
    return found


def searches(dashboard: dict) -> list[str]:
    return [part["expression"] for entry in metrics_shown(dashboard) for part in entry if isinstance(part, dict)
            and "expression" in part]


def test_the_dashboard_shows_the_money_flow(dashboard):
    for name in ("events", "minor_units"):
        assert shown(dashboard, "Stakeline", name) == [{"function": "publisher", "type": t} for t in MONEY_TYPES], name
    assert shown(dashboard, "Stakeline", "payouts") == [
        {"function": "payout", "outcome": o} for o in ("accepted", "refused", "unanswered")]
    assert shown(dashboard, "Stakeline", "oldest_review_age_seconds") == [{"function": "review-age"}]
    expressions = searches(dashboard)
    for metric, schema in (("rejections", "function,code"), ("replays", "function,route"),
                           ("contention_retries", "function"), ("contention_exhausted", "function"),
                           ("requests", "function,route,outcome"), ("message_failures", "function,queue,code"),
                           ("dead_lettered", "function,queue"), ("minor_units_by_currency", "function,type,currency")):
        assert f"SEARCH('{{Stakeline,{schema}}} MetricName=\"{metric}\"', 'Sum', 300)" in expressions, metric


def test_the_dashboard_shows_every_function_queue_and_the_api(template, dashboard):
    every_function = [{"FunctionName": f"<{logical_id}>"} for logical_id in function_ids(template)]
    for name in ("Invocations", "Errors"):
        assert sorted(shown(dashboard, "AWS/Lambda", name), key=str) == sorted(every_function, key=str), name
    queues = shown(dashboard, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert {q["QueueName"] for q in queues} == {f"<{q}.QueueName>" for q in dead_letter_and_failure_queues(template)}
    api = {"ApiId": "<WalletHttpApi>", "Stage": "$default"}
    for name in ("Count", "5xx", "Latency"):
        assert api in shown(dashboard, "AWS/ApiGateway", name), name
    assert shown(dashboard, "AWS/Lambda", "IteratorAge") == [{"FunctionName": "<PublisherFunction>"}]
    for widget in dashboard["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "<AWS::Region>"


# --- OPERATIONS.md's links -----------------------------------------------------------------------

def test_the_links_of_operations_md_lead_somewhere(repo_root):
    """Every relative link of OPERATIONS.md names a file of the repository, and every #anchor a
    heading of the file it points into."""
    text = OPERATIONS.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links
    for link in links:
        if link.startswith(("http://", "https://")):
            continue
        path, _, anchor = link.partition("#")
        target = OPERATIONS if not path else repo_root / path
        assert target.exists(), link
        if anchor:
            assert anchor in github_anchors(target.read_text(encoding="utf-8")), link
