"""template.yaml: it lints, and the local template derived from it is what moto can hold."""

import subprocess
import sysconfig
from pathlib import Path

import pytest

from stakeline_local.emulator import moto_can_create
from stakeline_local.template import (
    derive_local_template,
    functions,
    http_routes,
    load_template,
    references,
    schedule_event_sources,
    sqs_event_sources,
    stream_event_sources,
    template_environment,
)


def test_cfn_lint_finds_nothing(repo_root):
    cfn_lint = Path(sysconfig.get_path("scripts")) / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), str(repo_root / "template.yaml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_local_template_keeps_the_table_and_drops_every_serverless_resource(template):
    local = derive_local_template(template)
    resources = local.body["Resources"]

    table = resources["WalletTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert not [i for i, r in resources.items() if r["Type"].startswith("AWS::Serverless::")]
    serverless = {i for i, r in template["Resources"].items() if r["Type"].startswith("AWS::Serverless::")}
    assert serverless and serverless <= set(local.dropped)
    for logical_id, resource in resources.items():
        assert not references(resource).names & set(local.dropped), logical_id
    assert "WalletTableName" in local.body["Outputs"]
    assert "ApiUrl" not in local.body["Outputs"], "ApiUrl needs the HttpApi, which moto does not create"
    assert "Globals" not in local.body and "Transform" not in local.body


# Routes a player (token) and an integration (signature) both call: no authorizer can admit
# both, so the function verifies either itself.
PLAYER_AND_SIGNED_ROUTES = {("GET", "/players/{player_id}/bets/{bet_id}")}

SYNTHETIC = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  Unused: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  AlsoProd: !And [!Condition IsProd, !Equals [a, a]]
  OnlyForFn: !Equals [!Ref Unused, x]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties: {Handler: bootstrap}
  FnLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${Fn}
      RetentionInDays: !If [OnlyForFn, 365, 7]
  FnAlarmTopic:
    Type: AWS::SNS::Topic
    DependsOn: FnLogs
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Join ["-", [!Ref Stage, queue]]
      MessageRetentionPeriod: !If [IsProd, 1209600, 345600]
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Queue]
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: "*"
            Action: sqs:SendMessage
            Resource: !GetAtt Queue.Arn
            Condition: {ArnEquals: {aws:SourceArn: !GetAtt FnRole.Arn}}
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: !Sub "${AWS::StackName}-bus"}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [stakeline]}
      Targets: [{Id: q, Arn: !GetAtt Queue.Arn}]
Outputs:
  QueueUrl: {Value: !Ref Queue}
  ProdQueueArn: {Condition: AlsoProd, Value: !GetAtt Queue.Arn}
  FnArn: {Value: !GetAtt Fn.Arn}
"""


def test_short_tags_load_as_long_form(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SYNTHETIC)
    loaded = load_template(path)
    resources = loaded["Resources"]
    assert resources["FnLogs"]["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${Fn}"}
    assert resources["QueuePolicy"]["Properties"]["Queues"] == [{"Ref": "Queue"}]
    assert resources["Rule"]["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": ["Queue", "Arn"]}
    assert resources["Queue"]["Properties"]["QueueName"] == {
        "Fn::Join": ["-", [{"Ref": "Stage"}, "queue"]]
    }
    assert loaded["Conditions"]["AlsoProd"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": ["a", "a"]}]
    }


def test_derivation_drops_dependents_transitively_and_keeps_what_they_need(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SYNTHETIC)
    local = derive_local_template(load_template(path))

    # FnLogs refers to Fn (Sub), FnAlarmTopic depends on FnLogs, QueuePolicy on SAM's FnRole.
    assert local.dropped == ["Fn", "FnAlarmTopic", "FnLogs", "QueuePolicy"]
    assert set(local.body["Resources"]) == {"Queue", "Bus", "Rule"}
    assert set(local.body["Parameters"]) == {"Stage"}
    assert set(local.body["Conditions"]) == {"IsProd", "AlsoProd"}  # not OnlyForFn
    assert set(local.body["Outputs"]) == {"QueueUrl", "ProdQueueArn"}
    # moto answers 500 to `EventBusName: !Ref Bus`; GetAtt Name is the same value on AWS.
    assert local.body["Resources"]["Rule"]["Properties"]["EventBusName"] == {"Fn::GetAtt": ["Bus", "Name"]}
    assert "Transform" not in local.body


def test_template_routes_and_functions(template):
    assert http_routes(template) == {
        ("POST", "/players"): "register",
        ("PUT", "/players/{player_id}/limits"): "register",
        ("POST", "/players/{player_id}/exclusions"): "register",
        ("POST", "/players/{player_id}/bonus/forfeit"): "register",
        ("GET", "/players/{player_id}/wallet"): "wallet-read",
        ("GET", "/players/{player_id}/transactions"): "wallet-read",
        ("GET", "/players/{player_id}/bets/{bet_id}"): "wallet-read",
        ("POST", "/players/{player_id}/deposits"): "deposit",
        ("POST", "/players/{player_id}/bets"): "place-bet",
        ("POST", "/players/{player_id}/bets/{bet_id}/settlement"): "settle",
        ("POST", "/players/{player_id}/withdrawals"): "withdraw",
        ("GET", "/players/{player_id}/withdrawals/{withdrawal_id}"): "wallet-read",
        ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/cancel"): "withdraw",
        ("POST", "/players/{player_id}/withdrawals/{withdrawal_id}/result"): "withdraw",
        ("GET", "/ops/withdrawals"): "ops",
        ("POST", "/ops/withdrawals/{withdrawal_id}/decision"): "ops",
        ("GET", "/ops/players/{player_id}"): "ops",
        ("PUT", "/ops/players/{player_id}/status"): "ops",
        ("GET", "/ops/players"): "ops",
        ("GET", "/ops/players/{player_id}/transactions"): "ops",
        ("GET", "/ops/players/{player_id}/bets"): "ops",
        ("GET", "/ops/players/{player_id}/withdrawals"): "ops",
        ("POST", "/ops/audit"): "ops",
        ("GET", "/ops/queues"): "ops",
        ("POST", "/ops/queues/{queue}/redrive"): "ops",
    }
    by_binary = {f.binary: f for f in functions(template)}
    assert set(by_binary) == {"register", "wallet-read", "deposit", "place-bet", "settle", "settle-queue",
                              "publisher", "bonus-award", "withdraw", "ops", "payout", "review-age"}
    assert by_binary["settle-queue"].routes == [], "settle-queue is fed by SQS only"
    assert by_binary["bonus-award"].routes == [], "bonus-award is fed by SQS only"
    assert by_binary["publisher"].routes == [], "the publisher is fed by the table's stream only"
    assert by_binary["payout"].routes == [], "payout is fed by SQS only"
    assert by_binary["review-age"].routes == [] and not by_binary["review-age"].sqs_events, "review-age runs on a schedule"
    for function in by_binary.values():
        assert function.environment["TABLE_NAME"] == {"Ref": "WalletTable"}
        assert function.environment["PLAYER_AUTH"] == "apigateway"
    # On AWS a function names its integration's secret by ARN and reads it at run time.
    written = {
        resource["Metadata"]["BuildProperties"]["Binary"]: template_environment(template, resource)
        for resource in _serverless_functions(template).values()
    }
    for binary in ("deposit", "withdraw", "payout"):
        assert written[binary]["PAYMENT_PROVIDER_SECRET_ARN"] == {"Ref": "PaymentProviderSecretArn"}, binary
    assert written["withdraw"]["RISK_RULES"] == {"Ref": "RiskRules"}
    assert written["payout"]["PAYOUT_API_URL"] == {"Ref": "PayoutApiUrl"}
    assert "PAYMENT_PROVIDER_SECRET_ARN" not in written["register"]
    for binary in ("place-bet", "settle", "settle-queue", "wallet-read"):
        assert written[binary]["AGGREGATOR_SECRET_ARN"] == {"Ref": "AggregatorSecretArn"}, binary
        assert "PAYMENT_PROVIDER_SECRET_ARN" not in written[binary], binary
    for binary in ("register", "deposit", "publisher", "bonus-award", "withdraw", "ops", "payout", "review-age"):
        assert "AGGREGATOR_SECRET_ARN" not in written[binary], binary
    assert not {v for v in written["ops"] if v.endswith("_SECRET_ARN")}, "ops verifies no signature"
    for binary in ("publisher", "bonus-award"):
        assert "PAYMENT_PROVIDER_SECRET_ARN" not in written[binary], binary
    for binary, variables in written.items():
        assert not [v for v in variables if v.endswith("_HMAC_SECRETS")], f"{binary}: no secret in the environment"
        assert "{{resolve:" not in repr(variables), binary
    # Locally the same functions hold the development secrets themselves instead.
    for binary, variables in written.items():
        local = by_binary[binary].environment
        assert not [v for v in local if v.endswith("_SECRET_ARN")], binary
        assert ("PAYMENT_PROVIDER_HMAC_SECRETS" in local) == ("PAYMENT_PROVIDER_SECRET_ARN" in variables), binary
        assert ("AGGREGATOR_HMAC_SECRETS" in local) == ("AGGREGATOR_SECRET_ARN" in variables), binary
    assert by_binary["deposit"].environment["PAYMENT_PROVIDER_HMAC_SECRETS"] == "stakeline-local-payment-provider-secret"
    assert by_binary["settle-queue"].environment["AGGREGATOR_HMAC_SECRETS"] == "stakeline-local-aggregator-secret"
    assert by_binary["publisher"].environment["EVENT_BUS_NAME"] == {"Fn::GetAtt": ["WalletEventBus", "Name"]}
    assert by_binary["bonus-award"].environment["BONUS_CAMPAIGNS"] == {"Ref": "BonusCampaigns"}


def _serverless_functions(template):
    return {
        i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"
    }


def test_only_signed_routes_skip_the_player_authorizer(template):
    api = template["Resources"]["WalletHttpApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "PlayerJwt"
    jwt = api["Auth"]["Authorizers"]["PlayerJwt"]
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    assert jwt["JwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": [{"Ref": "JwtAudience"}]}

    operator = api["Auth"]["Authorizers"]["OperatorJwt"]
    assert operator["IdentitySource"] == "$request.header.Authorization"
    assert operator["JwtConfiguration"] == {
        "issuer": {"Fn::If": ["HasOperatorIssuer", {"Ref": "OperatorJwtIssuer"}, {"Ref": "JwtIssuer"}]},
        "audience": [{"Fn::If": ["HasOperatorAudience", {"Ref": "OperatorJwtAudience"}, {"Ref": "JwtAudience"}]}],
    }

    for logical_id, resource in _serverless_functions(template).items():
        for name, event in resource["Properties"].get("Events", {}).items():
            auth = event["Properties"].get("Auth", {})
            authorizer = auth.get("Authorizer")
            path = event["Properties"].get("Path", "")
            if path.startswith("/ops/"):
                # Operator routes: the operator authorizer and its scope, nothing else.
                assert auth == {"Authorizer": "OperatorJwt", "AuthorizationScopes": ["stakeline/ops"]}, (
                    f"{logical_id}.{name}"
                )
                continue
            if authorizer == "NONE":
                # The function must then check an HMAC itself, with the secret it names.
                environment = template_environment(template, resource)
                assert {"PAYMENT_PROVIDER_SECRET_ARN", "AGGREGATOR_SECRET_ARN"} & set(
                    environment
                ), f"{logical_id}.{name} has no authorizer and no signature secret"
                if (event["Properties"]["Method"], path) in PLAYER_AND_SIGNED_ROUTES:
                    # A player may call it too: the function verifies the token against the
                    # very issuer and audience PlayerJwt uses.
                    assert environment.get("PLAYER_JWT_ISSUER") == {"Ref": "JwtIssuer"}, f"{logical_id}.{name}"
                    assert environment.get("PLAYER_JWT_AUDIENCE") == {"Ref": "JwtAudience"}, f"{logical_id}.{name}"
            else:
                assert authorizer is None, f"{logical_id}.{name}: unexpected authorizer {authorizer}"


def test_function_policies_are_least_privilege(template):
    """Every function that commits state writes its events with the PutItem it already
    has (every write is a Put or a ConditionCheck of one TransactWriteItems: no UpdateItem);
    the publisher may only put events on the wallet bus; a function that verifies signatures
    may read its integration's secret and no other (tests/infra/test_least_privilege.py checks
    all of this against the code)."""
    table = {"Fn::GetAtt": ["WalletTable", "Arn"]}
    bus = {"Fn::GetAtt": ["WalletEventBus", "Arn"]}
    read_secret = {"secretsmanager:GetSecretValue"}
    payment_provider = {"Ref": "PaymentProviderSecretArn"}
    aggregator = {"Ref": "AggregatorSecretArn"}
    writer = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"}
    expected = {
        "register": [(table, writer)],
        "deposit": [(table, writer), (payment_provider, read_secret)],
        "withdraw": [(table, writer), (payment_provider, read_secret)],
        "place-bet": [(table, writer), (aggregator, read_secret)],
        "settle": [(table, writer), (aggregator, read_secret)],
        # Plus what SAM adds for its SQS event (AWSLambdaSQSQueueExecutionRole), nothing of ours.
        "settle-queue": [(table, writer), (aggregator, read_secret)],
        "bonus-award": [(table, writer)],
        # Plus what SAM adds for its SQS event; it signs payouts with the provider's secret.
        "payout": [(table, writer), (payment_provider, read_secret)],
        # Its own records and actions; the indexes it pages through; the audit's scan of the
        # table alone; the depth of every dead-letter and failure queue, the redrive of the four
        # that hold events, and the bus they go back to.
        "ops": [
            (table, writer),
            (
                [
                    table,
                    {"Fn::Sub": "${WalletTable.Arn}/index/withdrawals-by-status"},
                    {"Fn::Sub": "${WalletTable.Arn}/index/withdrawals-by-player"},
                    {"Fn::Sub": "${WalletTable.Arn}/index/history"},
                ],
                {"dynamodb:Query"},
            ),
            (table, {"dynamodb:Scan"}),
            ([_queue_arn(q) for q in WATCHED_QUEUES], {"sqs:GetQueueAttributes"}),
            ([_queue_arn(q) for q in WATCHED_QUEUES], {"sqs:ReceiveMessage", "sqs:DeleteMessage"}),
            (bus, {"events:PutEvents"}),
            ({"Fn::GetAtt": ["WalletTable", "StreamArn"]}, {"dynamodb:GetShardIterator", "dynamodb:GetRecords"}),
            (_queue_arn("SettlementQueue"), {"sqs:SendMessage"}),
        ],
        "wallet-read": [
            ([table, {"Fn::Sub": "${WalletTable.Arn}/index/history"}], {"dynamodb:GetItem", "dynamodb:Query"}),
            (aggregator, read_secret),
        ],
        # Plus what SAM adds for its DynamoDB event (stream reads) and its on-failure destination.
        "publisher": [(bus, {"events:PutEvents"})],
        # The review queue's first item: one Query of the withdrawals-by-status index, nothing else.
        "review-age": [({"Fn::Sub": "${WalletTable.Arn}/index/withdrawals-by-status"}, {"dynamodb:Query"})],
    }
    seen = {}
    for resource in _serverless_functions(template).values():
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        statements = [s for p in resource["Properties"]["Policies"] for s in p["Statement"]]
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert not any("*" in action for action in statement["Action"])
        seen[binary] = [(s["Resource"], set(s["Action"])) for s in statements]
    assert seen == expected


def test_table_is_durable_and_streams_both_images(template):
    table = template["Resources"]["WalletTable"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert "TableName" not in properties
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_the_ledger_is_served_from_the_history_index(template):
    """Items that record entries sit in `history` by player and first sequence; only the
    entries are projected. Nothing expires: no item needs a TTL."""
    properties = template["Resources"]["WalletTable"]["Properties"]
    [index] = [i for i in properties["GlobalSecondaryIndexes"] if i["IndexName"] == "history"]
    assert index == {
        "IndexName": "history",
        "KeySchema": [{"AttributeName": "hpk", "KeyType": "HASH"}, {"AttributeName": "hsk", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["entries"]},
    }
    assert {"AttributeName": "hpk", "AttributeType": "S"} in properties["AttributeDefinitions"]
    assert {"AttributeName": "hsk", "AttributeType": "S"} in properties["AttributeDefinitions"]
    assert "TimeToLiveSpecification" not in properties



def _function(template, binary):
    return next(
        r for r in _serverless_functions(template).values()
        if r["Metadata"]["BuildProperties"]["Binary"] == binary
    )


def test_every_function_logs_to_its_own_retained_group(template):
    resources = template["Resources"]
    for logical_id, resource in _serverless_functions(template).items():
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        group_id = resource["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = resources[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup", logical_id
        assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{binary}"}
        assert group["Properties"]["RetentionInDays"] == 90


def test_settlement_queue_is_encrypted_kept_14_days_and_redrives_to_its_dlq(template):
    resources = template["Resources"]
    queue = resources["SettlementQueue"]
    dlq = resources["SettlementDeadLetterQueue"]
    assert queue["Type"] == dlq["Type"] == "AWS::SQS::Queue"
    fourteen_days = 14 * 24 * 3600
    for resource in (queue, dlq):
        properties = resource["Properties"]
        assert properties["MessageRetentionPeriod"] == fourteen_days
        assert properties["SqsManagedSseEnabled"] is True
        assert "QueueName" not in properties, "let CloudFormation name it: stacks must not collide"
        assert "FifoQueue" not in properties
    assert queue["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["SettlementDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert "RedrivePolicy" not in dlq["Properties"]


@pytest.mark.parametrize("queue, consumer", [("SettlementQueue", "settle-queue"), ("BonusQueue", "bonus-award")])
def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(template, queue, consumer):
    visibility = template["Resources"][queue]["Properties"]["VisibilityTimeout"]
    consumers = [(f, e) for f, e in sqs_event_sources(template) if e.queue == queue]
    assert [f.binary for f, _ in consumers] == [consumer]
    for function, event in consumers:
        # AWS's advice: at least 6x the function timeout, plus the batching window.
        assert visibility >= 6 * function.timeout + event.maximum_batching_window
    assert {f.binary: f.timeout for f in functions(template)}[consumer] == 30


def test_settle_queue_reports_batch_item_failures(template):
    [(function, event)] = [(f, e) for f, e in sqs_event_sources(template) if e.queue == "SettlementQueue"]
    assert function.logical_id == "SettleQueueFunction" and function.binary == "settle-queue"
    assert event.queue == "SettlementQueue"
    assert event.batch_size == 10 and event.maximum_batching_window == 1
    assert event.report_batch_item_failures is True
    assert event.maximum_concurrency == 10
    raw = _function(template, "settle-queue")["Properties"]["Events"]["Settlements"]
    assert raw["Type"] == "SQS"
    assert raw["Properties"] == {
        "Queue": {"Fn::GetAtt": ["SettlementQueue", "Arn"]},
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 1,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 10},
    }


def test_only_the_aggregator_principal_may_send_settlements(template):
    parameter = template["Parameters"]["SettlementSenderArn"]
    assert "Default" not in parameter, "the operator must name the sender"
    policy = template["Resources"]["SettlementQueuePolicy"]
    assert policy["Type"] == "AWS::SQS::QueuePolicy"
    assert policy["Properties"]["Queues"] == [{"Ref": "SettlementQueue"}]
    allow, ops, deny = policy["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"AWS": {"Ref": "SettlementSenderArn"}}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == {"Fn::GetAtt": ["SettlementQueue", "Arn"]}
    assert "Condition" not in allow
    # The back office's redrive sends dead-lettered (still signed) settlements back.
    assert ops["Effect"] == "Allow"
    assert ops["Principal"] == {"AWS": {"Fn::GetAtt": ["OpsFunctionRole", "Arn"]}}
    assert (ops["Action"], ops["Resource"]) == ("sqs:SendMessage", {"Fn::GetAtt": ["SettlementQueue", "Arn"]})
    # Every other principal is refused, even one whose own IAM policy allows sending.
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "sqs:SendMessage"
    assert deny["Resource"] == {"Fn::GetAtt": ["SettlementQueue", "Arn"]}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": [
        {"Ref": "SettlementSenderArn"}, {"Fn::GetAtt": ["OpsFunctionRole", "Arn"]}]}}


@pytest.mark.parametrize("arn, valid", [
    ("arn:aws:iam::210987654321:role/aggregator-settlements", True),
    ("arn:aws:iam::210987654321:role/integrations/aggregator-settlements", True),
    ("arn:aws-us-gov:iam::210987654321:user/sportsbook", True),
    # With the queue's Deny for every other principal, the account root would mean the root
    # user alone: a role or a user must be named.
    ("arn:aws:iam::210987654321:root", False),
    ("*", False),
    ("arn:aws:iam::*:root", False),
    ("arn:aws:iam::210987654321:role/*", False),
    ("210987654321", False),
])
def test_the_sender_must_be_one_iam_principal(template, arn, valid):
    import re

    pattern = template["Parameters"]["SettlementSenderArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, arn)) is valid


def test_settlement_outputs(template):
    outputs = template["Outputs"]
    assert outputs["SettlementQueueName"]["Value"] == {"Fn::GetAtt": ["SettlementQueue", "QueueName"]}
    assert outputs["SettlementQueueUrl"]["Value"] == {"Ref": "SettlementQueue"}
    assert outputs["SettlementDeadLetterQueueName"]["Value"] == {
        "Fn::GetAtt": ["SettlementDeadLetterQueue", "QueueName"]
    }


def test_the_local_template_keeps_both_queues_and_leaves_out_what_moto_cannot_create(template):
    local = derive_local_template(template, moto_can_create)
    resources = local.body["Resources"]
    assert {"SettlementQueue", "SettlementDeadLetterQueue"} <= set(resources)
    assert resources["SettlementQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    # moto 5.2.5's CloudFormation skips AWS::SQS::QueuePolicy (and lists it with an empty id).
    if not moto_can_create("AWS::SQS::QueuePolicy"):
        assert [i for i in local.unsupported if template["Resources"][i]["Type"] == "AWS::SQS::QueuePolicy"] == [
            "BonusQueuePolicy", "BonusRuleDeadLetterQueuePolicy", "PayoutQueuePolicy",
            "PayoutRuleDeadLetterQueuePolicy", "SettlementQueuePolicy",
        ]
        assert "SettlementSenderArn" not in local.body.get("Parameters", {})
    assert {"SettlementQueueName", "SettlementQueueUrl", "SettlementDeadLetterQueueName"} <= set(
        local.body["Outputs"]
    )
    # Without an emulator to ask, only SAM resources and what names them are dropped (the
    # settlement queue's policy names the ops function's role).
    kept = derive_local_template(template).body["Resources"]
    assert "PayoutQueuePolicy" in kept and "SettlementQueuePolicy" not in kept


def test_the_local_template_needs_no_secret_and_leaves_the_rules_to_cloudformation(template):
    assert "Rules" in template
    local = derive_local_template(template, moto_can_create)
    assert "Rules" not in local.body
    # The functions' secret ARNs are not resolved locally (they hold the development secrets
    # instead), so the local stack needs no value for them.
    assert not {"PaymentProviderSecretArn", "AggregatorSecretArn"} & set(local.body.get("Parameters", {}))
    assert not [v for _, v in local.environment_outputs.values() if "SECRET" in v]


SECRET_ENVIRONMENT = """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: fn}}
    Properties:
      Environment:
        Variables: {VARIABLES}
"""


@pytest.mark.parametrize("variables, expected", [
    ("{AGGREGATOR_SECRET_ARN: !Ref Secret, X: y}", {"AGGREGATOR_HMAC_SECRETS": "stakeline-local-aggregator-secret",
                                                    "X": "y"}),
    ("{PAYMENT_PROVIDER_SECRET_ARN: arn:aws:secretsmanager:eu-west-1:123456789012:secret:p-AbCdEf}",
     {"PAYMENT_PROVIDER_HMAC_SECRETS": "stakeline-local-payment-provider-secret"}),
    ("{AGGREGATOR_SECRET_ARN: !Ref Secret, AGGREGATOR_HMAC_SECRETS: x}", "name the same secrets twice"),
    ("{OPERATOR_SECRET_ARN: !Ref Secret}", "OPERATOR_HMAC_SECRETS to SECRET_VARIABLES"),
])
def test_secret_arns_become_local_development_secrets(tmp_path, variables, expected):
    path = tmp_path / "t.yaml"
    path.write_text(SECRET_ENVIRONMENT.replace("{VARIABLES}", variables))
    loaded = load_template(path)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=expected):
            functions(loaded)
        return
    [function] = functions(loaded)
    assert function.environment == expected
    assert not derive_local_template(loaded).environment_outputs, "nothing for moto to resolve"


SQS_EVENTS = """
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Defaults:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: defaults}}
    Properties:
      Events:
        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
  External:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: external}}
    Properties:
      Timeout: 60
      Events:
        Off:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:eu-west-1:123456789012:elsewhere
            Enabled: false
            BatchSize: 100
            MaximumBatchingWindowInSeconds: 5
"""


def test_sqs_events_are_read_with_lambdas_defaults(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SQS_EVENTS)
    by_binary = {f.binary: f for f in functions(load_template(path))}
    [defaults] = by_binary["defaults"].sqs_events
    assert (defaults.queue, defaults.batch_size, defaults.maximum_batching_window) == ("Queue", 10, 0)
    assert defaults.report_batch_item_failures is False and defaults.enabled is True
    assert by_binary["defaults"].timeout == 3, "Lambda's default timeout"
    [external] = by_binary["external"].sqs_events
    assert external.queue == "arn:aws:sqs:eu-west-1:123456789012:elsewhere"
    assert (external.batch_size, external.maximum_batching_window, external.enabled) == (100, 5, False)
    assert by_binary["external"].timeout == 60


# -- Choreography: outbox -> publisher -> EventBridge -> BonusQueue -> bonus-award ---------------

OUTBOX_FILTER = {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {"publish": {"S": ["events"]}}}}


def test_the_publisher_reads_writes_carrying_events_from_the_stream(template):
    [(function, event)] = stream_event_sources(template)
    assert function.binary == "publisher" and function.timeout == 30
    assert event.table == "WalletTable" and event.starting_position == "TRIM_HORIZON"
    assert (event.batch_size, event.maximum_batching_window) == (100, 1)
    assert event.report_batch_item_failures and event.bisect_batch_on_function_error
    assert event.filters == [OUTBOX_FILTER]
    assert event.on_failure == "OutboxFailureQueue"
    # Finite: -1 would hold the shard behind one unpublishable event until it leaves the stream.
    assert 0 < event.maximum_retry_attempts <= 10000
    raw = _function(template, "publisher")["Properties"]["Events"]["Outbox"]
    assert raw["Type"] == "DynamoDB"
    properties = raw["Properties"]
    assert properties["Stream"] == {"Fn::GetAtt": ["WalletTable", "StreamArn"]}
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["DestinationConfig"] == {
        "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["OutboxFailureQueue", "Arn"]}}
    }
    [pattern] = properties["FilterCriteria"]["Filters"]
    assert isinstance(pattern["Pattern"], str), "Lambda wants the pattern as a JSON string"


def test_the_publisher_may_only_put_events_on_the_wallet_bus(template):
    publisher = _function(template, "publisher")["Properties"]
    [statement] = [s for p in publisher["Policies"] for s in p["Statement"]]
    assert statement == {
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": {"Fn::GetAtt": ["WalletEventBus", "Arn"]},
    }
    assert publisher["Environment"]["Variables"] == {"EVENT_BUS_NAME": {"Fn::GetAtt": ["WalletEventBus", "Name"]}}


def test_one_custom_bus_named_after_the_stack(template):
    buses = {i: r for i, r in template["Resources"].items() if r["Type"] == "AWS::Events::EventBus"}
    assert list(buses) == ["WalletEventBus"]
    assert buses["WalletEventBus"]["Properties"] == {"Name": {"Fn::Sub": "${AWS::StackName}-wallet"}}
    assert template["Outputs"]["EventBusName"]["Value"] == {"Fn::GetAtt": ["WalletEventBus", "Name"]}


def test_first_deposits_are_routed_to_the_bonus_queue_with_retries_and_a_dead_letter_queue(template):
    rule = template["Resources"]["FirstDepositBonusRule"]
    assert rule["Type"] == "AWS::Events::Rule"
    properties = rule["Properties"]
    # GetAtt Name, not Ref: the same value on AWS, and what moto's CloudFormation accepts.
    assert properties["EventBusName"] == {"Fn::GetAtt": ["WalletEventBus", "Name"]}
    assert properties["EventPattern"] == {
        "source": ["stakeline.wallet"],
        "detail-type": ["DepositCompleted"],
        "detail": {"first_deposit": [True]},
    }
    assert properties.get("State", "ENABLED") == "ENABLED"
    [target] = properties["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["BonusQueue", "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["BonusRuleDeadLetterQueue", "Arn"]}}
    assert "InputTransformer" not in target and "Input" not in target, "bonus-award gets the whole envelope"


def test_bonus_award_consumes_the_bonus_queue(template):
    [(function, event)] = [(f, e) for f, e in sqs_event_sources(template) if e.queue == "BonusQueue"]
    assert function.logical_id == "BonusAwardFunction" and function.binary == "bonus-award"
    assert (event.batch_size, event.maximum_batching_window, event.report_batch_item_failures) == (10, 1, True)
    policies = _function(template, "bonus-award")["Properties"]["Policies"]
    [statement] = [s for p in policies for s in p["Statement"]]
    assert statement["Resource"] == {"Fn::GetAtt": ["WalletTable", "Arn"]}
    assert set(statement["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"}


def test_bonus_campaigns_are_configuration_with_the_first_deposit_match_by_default(template):
    import json

    parameter = template["Parameters"]["BonusCampaigns"]
    assert parameter["Type"] == "String"
    assert json.loads(parameter["Default"]) == [{
        "campaign_id": "first-deposit-match",
        "trigger": "first_deposit",
        "match_percent": 100,
        "cap": {"EUR": 10000, "GBP": 10000, "USD": 10000},
        "wagering_multiplier": 10,
        "max_stake": {"EUR": 500, "GBP": 500, "USD": 500},
        "expiry_days": 30,
    }]
    assert "\n" not in parameter["Default"], "one line: it travels in an environment variable"


@pytest.mark.parametrize("queue", ["BonusQueue", "BonusDeadLetterQueue", "BonusRuleDeadLetterQueue", "OutboxFailureQueue"])
def test_choreography_queues_are_encrypted_and_keep_messages_14_days(template, queue):
    properties = template["Resources"][queue]["Properties"]
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600
    # SQS-managed keys: EventBridge can deliver to them (an AWS-managed KMS key would refuse it).
    assert properties["SqsManagedSseEnabled"] is True
    assert "KmsMasterKeyId" not in properties
    assert "QueueName" not in properties
    if queue == "BonusQueue":
        assert properties["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": ["BonusDeadLetterQueue", "Arn"]},
            "maxReceiveCount": 5,
        }
    else:
        assert "RedrivePolicy" not in properties


@pytest.mark.parametrize("policy_id, queue", [
    ("BonusQueuePolicy", "BonusQueue"),
    ("BonusRuleDeadLetterQueuePolicy", "BonusRuleDeadLetterQueue"),
])
def test_only_the_rule_may_send_to_its_queues(template, policy_id, queue):
    policy = template["Resources"][policy_id]
    assert policy["Type"] == "AWS::SQS::QueuePolicy"
    assert policy["Properties"]["Queues"] == [{"Ref": queue}]
    allow, deny = policy["Properties"]["PolicyDocument"]["Statement"]
    rule = {"Fn::GetAtt": ["FirstDepositBonusRule", "Arn"]}
    assert allow["Effect"] == "Allow"
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": rule}}
    # Nobody else may send, whatever their own IAM policy allows.
    assert deny["Effect"] == "Deny"
    assert deny["Principal"] == "*"
    assert deny["Action"] == "sqs:SendMessage"
    assert deny["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert deny["Condition"] == {"ArnNotEquals": {"aws:SourceArn": rule}}


def test_choreography_outputs(template):
    outputs = template["Outputs"]
    assert outputs["BonusQueueName"]["Value"] == {"Fn::GetAtt": ["BonusQueue", "QueueName"]}
    assert outputs["BonusDeadLetterQueueName"]["Value"] == {"Fn::GetAtt": ["BonusDeadLetterQueue", "QueueName"]}
    assert outputs["BonusRuleDeadLetterQueueName"]["Value"] == {
        "Fn::GetAtt": ["BonusRuleDeadLetterQueue", "QueueName"]
    }
    assert outputs["OutboxFailureQueueName"]["Value"] == {"Fn::GetAtt": ["OutboxFailureQueue", "QueueName"]}


def test_the_local_template_keeps_the_bus_the_rule_and_every_queue(template):
    local = derive_local_template(template, moto_can_create)
    resources = local.body["Resources"]
    for kept in ("WalletEventBus", "FirstDepositBonusRule", "BonusQueue", "BonusDeadLetterQueue",
                 "BonusRuleDeadLetterQueue", "OutboxFailureQueue"):
        assert kept in resources, kept
    assert {"PublisherFunction", "BonusAwardFunction"} <= set(local.dropped)
    assert resources["FirstDepositBonusRule"]["Properties"]["EventBusName"] == {"Fn::GetAtt": ["WalletEventBus", "Name"]}
    assert resources["WalletTable"]["Properties"]["GlobalSecondaryIndexes"][0]["IndexName"] == "history"
    assert {"EventBusName", "BonusQueueName", "BonusDeadLetterQueueName"} <= set(local.body["Outputs"])
    # The publisher's EVENT_BUS_NAME and bonus-award's BONUS_CAMPAIGNS are resolved by moto.
    environment = {target for key, target in local.environment_outputs.items() if key in local.body["Outputs"]}
    assert ("PublisherFunction", "EVENT_BUS_NAME") in environment
    assert ("BonusAwardFunction", "BONUS_CAMPAIGNS") in environment


STREAM_EVENTS = """
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Defaults:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: defaults}}
    Properties:
      Events:
        S: {Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}}
"""


def test_dynamodb_events_are_read_with_lambdas_defaults(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(STREAM_EVENTS)
    [(function, event)] = stream_event_sources(load_template(path))
    assert function.binary == "defaults"
    assert (event.table, event.starting_position, event.batch_size, event.maximum_batching_window) == (
        "Table", "LATEST", 100, 0)
    assert event.report_batch_item_failures is False and event.bisect_batch_on_function_error is False
    assert event.maximum_retry_attempts == -1 and event.filters == [] and event.on_failure is None


@pytest.mark.parametrize("properties, message", [
    ("{Stream: arn:aws:dynamodb:eu-west-1:1:table/t/stream/x, StartingPosition: LATEST}", "GetAtt Table.StreamArn"),
    ("{Stream: !GetAtt Table.StreamArn}", "StartingPosition"),
    ("{Stream: !GetAtt Table.StreamArn, StartingPosition: AT_TIMESTAMP}", "StartingPosition"),
    ("{Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, FilterCriteria: {Filters: [{Pattern: '{nope'}]}}",
     "not JSON"),
    ("{Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST, FilterCriteria: {Filters: [{Pattern: {a: [1]}}]}}",
     "JSON string"),
])
def test_dynamodb_events_the_local_suite_cannot_read_are_refused(tmp_path, properties, message):
    path = tmp_path / "t.yaml"
    path.write_text(STREAM_EVENTS.replace(
        "{Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}", properties))
    with pytest.raises(ValueError, match=message):
        functions(load_template(path))



def test_the_risk_rules_default_is_the_ledgers(template):
    """The RiskRules parameter's default is `ledger::risk::DEFAULT_RULES` (the rules the unit
    tests run), so a deployment with defaults reviews what the tests expect."""
    import json
    import re

    risk = (Path(__file__).resolve().parents[2] / "shared/ledger/src/risk.rs").read_text()
    default = re.search(r'pub const DEFAULT_RULES: &str = r#"(.*)"#;', risk).group(1)
    assert json.loads(template["Parameters"]["RiskRules"]["Default"]) == json.loads(default)


# -- The back office: what ops may see and do beyond the wallet --------------------------------

# Every dead-letter and failure queue of the template, in OPS_QUEUES' order; the last four hold
# EventBridge events (a rule's target or its dead letters), which a redrive puts on the bus again
# (the settlements go back to their queue, the outbox's failures are read again from the stream).
WATCHED_QUEUES = [
    "SettlementDeadLetterQueue", "OutboxFailureQueue", "BonusDeadLetterQueue", "BonusRuleDeadLetterQueue",
    "PayoutDeadLetterQueue", "PayoutRuleDeadLetterQueue",
]
EVENT_QUEUES = WATCHED_QUEUES[2:]


def _queue_arn(queue):
    return {"Fn::GetAtt": [queue, "Arn"]}


def _dead_letter_and_failure_queues(template):
    """Every queue that holds what failed elsewhere (a queue's redrive target, a rule target's
    dead-letter queue, a stream event's on-failure destination), and of those the ones that
    hold EventBridge events: the dead letters of a rule and of a queue a rule delivers to."""
    resources = template["Resources"]
    redrive = {
        queue: r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        for queue, r in resources.items()
        if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]
    }
    rule_targets, rule_dead_letters = set(), set()
    for r in resources.values():
        if r["Type"] == "AWS::Events::Rule":
            for target in r["Properties"].get("Targets", []):
                rule_targets.add(target["Arn"]["Fn::GetAtt"][0])
                if "DeadLetterConfig" in target:
                    rule_dead_letters.add(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
    failures = {event.on_failure for _, event in stream_event_sources(template) if event.on_failure}
    every = set(redrive.values()) | rule_dead_letters | failures
    events = rule_dead_letters | {redrive[q] for q in rule_targets if q in redrive}
    return every, events


def test_ops_watches_every_dead_letter_and_failure_queue_and_redrives_only_events(template):
    every, events = _dead_letter_and_failure_queues(template)
    assert set(WATCHED_QUEUES) == every and set(EVENT_QUEUES) == events
    variables = _function(template, "ops")["Properties"]["Environment"]["Variables"]
    # LogicalId=QueueUrl pairs: the names are the template's logical ids, the values their URLs.
    pairs = [pair.split("=", 1) for pair in variables["OPS_QUEUES"]["Fn::Sub"].split()]
    assert pairs == [[queue, "${" + queue + "}"] for queue in WATCHED_QUEUES]
    assert variables["EVENT_BUS_NAME"] == {"Fn::GetAtt": ["WalletEventBus", "Name"]}, "as the publisher has it"
    assert variables["SETTLEMENT_QUEUE_URL"] == {"Ref": "SettlementQueue"}
    for queue in WATCHED_QUEUES:
        properties = template["Resources"][queue]["Properties"]
        # SQS-managed keys: reading and moving their messages needs no KMS permission.
        assert properties["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in properties, queue


def test_ops_answers_before_api_gateway_gives_up(template):
    """The audit scans the whole table in one invocation; an HTTP API integration ends at 30 s."""
    [ops] = [f for f in functions(template) if f.binary == "ops"]
    assert ops.timeout == 29


def test_ops_never_scans_an_index_nor_takes_messages_it_does_not_redrive(template):
    statements = [s for p in _function(template, "ops")["Properties"]["Policies"] for s in p["Statement"]]
    by_action = {}
    for statement in statements:
        for action in statement["Action"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            by_action.setdefault(action, []).extend(resources)
    assert by_action["dynamodb:Scan"] == [{"Fn::GetAtt": ["WalletTable", "Arn"]}]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
        assert by_action[action] == [_queue_arn(q) for q in WATCHED_QUEUES], action
    # It sends only settlements, back to their queue, and reads only the table's stream.
    assert by_action["sqs:SendMessage"] == [_queue_arn("SettlementQueue")]
    assert by_action["dynamodb:GetRecords"] == [{"Fn::GetAtt": ["WalletTable", "StreamArn"]}]
    assert not [a for a in by_action if a.startswith(("sqs:SendMessageBatch", "sqs:Purge", "kms:"))]


def test_the_local_suite_resolves_ops_queues_and_bus(template):
    local = derive_local_template(template, moto_can_create)
    resolved = {target: key for key, target in local.environment_outputs.items() if key in local.body["Outputs"]}
    for variable in ("OPS_QUEUES", "EVENT_BUS_NAME", "SETTLEMENT_QUEUE_URL"):
        assert ("OpsFunction", variable) in resolved, variable
    assert set(WATCHED_QUEUES) <= set(local.body["Resources"])


# -- The operator console's hosting: a private bucket behind CloudFront, /ops/* to the API -----

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
BLOCK_ALL = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
             "RestrictPublicBuckets": True}
SSE_S3 = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
TLS_ONLY = {"Bool": {"aws:SecureTransport": "false"}}


def _tls_only_deny(bucket):
    return {
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": "${" + bucket + ".Arn}/*"}],
        "Condition": TLS_ONLY,
    }


def test_the_console_bucket_is_private_encrypted_versioned_and_logged(template):
    bucket = template["Resources"]["ConsoleBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["BucketEncryption"] == SSE_S3
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": "ConsoleLogBucket"},
                                                  "LogFilePrefix": "s3/"}
    assert "BucketName" not in properties and "WebsiteConfiguration" not in properties


def test_only_the_console_distribution_reads_the_bucket_and_only_over_tls(template):
    policy = template["Resources"]["ConsoleBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "ConsoleBucket"}
    deny, allow = policy["PolicyDocument"]["Statement"]
    assert deny == _tls_only_deny("ConsoleBucket")
    assert allow == {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": {"Fn::Sub": "${ConsoleBucket.Arn}/*"},
        "Condition": {"StringEquals": {"AWS:SourceArn": {
            "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"}}},
    }


def test_the_console_logs_go_to_their_own_bucket_for_90_days(template):
    bucket = template["Resources"]["ConsoleLogBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == BLOCK_ALL
    # CloudFront's standard logs arrive through an ACL grant: ACLs stay usable, the owner owns.
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert properties["BucketEncryption"] == SSE_S3
    assert properties["LifecycleConfiguration"]["Rules"] == [
        {"Id": "ExpireLogs", "Status": "Enabled", "ExpirationInDays": 90}]
    deny, allow = template["Resources"]["ConsoleLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert deny == _tls_only_deny("ConsoleLogBucket")
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == {"Fn::Sub": "${ConsoleLogBucket.Arn}/s3/*"}
    assert allow["Condition"] == {"ArnLike": {"aws:SourceArn": {"Fn::GetAtt": ["ConsoleBucket", "Arn"]}},
                                  "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_the_console_is_served_through_the_origin_access_control_and_ops_from_the_api(template):
    resources = template["Resources"]
    access_control = resources["ConsoleOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (access_control["OriginAccessControlOriginType"], access_control["SigningBehavior"],
            access_control["SigningProtocol"]) == ("s3", "always", "sigv4")
    config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    assert config["Enabled"] is True and config["DefaultRootObject"] == "index.html"
    assert (config["HttpVersion"], config["PriceClass"], config["IPV6Enabled"]) == ("http2and3", "PriceClass_100", True)
    origins = {origin["Id"]: origin for origin in config["Origins"]}
    assert origins["ConsoleBucket"] == {
        "Id": "ConsoleBucket",
        "DomainName": {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]},
        "OriginAccessControlId": {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]},
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    api = origins["WalletHttpApi"]
    assert api["DomainName"] == {"Fn::Sub": "${WalletHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}

    headers = {"Ref": "ConsoleResponseHeadersPolicy"}
    default = config["DefaultCacheBehavior"]
    assert (default["TargetOriginId"], default["ViewerProtocolPolicy"], default["CachePolicyId"]) == (
        "ConsoleBucket", "redirect-to-https", CACHING_OPTIMIZED)
    assert default["ResponseHeadersPolicyId"] == headers
    [ops] = config["CacheBehaviors"]
    assert ops["PathPattern"] == "/ops/*" and ops["TargetOriginId"] == "WalletHttpApi"
    assert set(ops["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert (ops["CachePolicyId"], ops["OriginRequestPolicyId"]) == (CACHING_DISABLED, ALL_VIEWER_EXCEPT_HOST_HEADER)
    assert ops["ViewerProtocolPolicy"] == "https-only" and ops["ResponseHeadersPolicyId"] == headers
    # Custom error responses are distribution-wide: they would turn the API's 403 and 404 into
    # index.html. The console routes in the URL's fragment, so "/" is its only page path.
    assert "CustomErrorResponses" not in config
    assert config["Logging"] == {"Bucket": {"Fn::GetAtt": ["ConsoleLogBucket", "RegionalDomainName"]},
                                 "Prefix": "cloudfront/", "IncludeCookies": False}


def test_the_console_gets_security_headers(template):
    config = template["Resources"]["ConsoleResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert all(header["Override"] is True for header in security.values())
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert "ContentTypeOptions" in security
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in security["ContentSecurityPolicy"]["ContentSecurityPolicy"].split("; "))
    assert directives == {
        "default-src": ["'self'"], "connect-src": ["'self'", "https:"], "img-src": ["'self'", "data:"],
        "style-src": ["'self'"], "script-src": ["'self'"], "frame-ancestors": ["'none'"], "base-uri": ["'self'"],
        "form-action": ["'self'", "https:"],
    }
    assert not [d for d, sources in directives.items() if "'unsafe-inline'" in sources or "'unsafe-eval'" in sources]


def test_console_outputs(template):
    outputs = template["Outputs"]
    assert outputs["ConsoleUrl"]["Value"] == {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"}
    assert outputs["ConsoleBucketName"]["Value"] == {"Ref": "ConsoleBucket"}
    assert outputs["ConsoleDistributionId"]["Value"] == {"Ref": "ConsoleDistribution"}
    assert outputs["ConsoleLogBucketName"]["Value"] == {"Ref": "ConsoleLogBucket"}


def test_the_local_stack_leaves_out_the_console_hosting_but_still_provisions(template):
    """moto's CloudFormation creates buckets but no bucket policy nor anything of CloudFront: those
    are left out (the local suite serves the console itself), and nothing that stays needs them."""
    local = derive_local_template(template, moto_can_create)
    cloudfront = [i for i, r in template["Resources"].items() if r["Type"].startswith("AWS::CloudFront::")]
    assert set(cloudfront) == {"ConsoleDistribution", "ConsoleOriginAccessControl", "ConsoleResponseHeadersPolicy"}
    for left_out in [*cloudfront, "ConsoleBucketPolicy", "ConsoleLogBucketPolicy"]:
        assert left_out in local.dropped, left_out
        if not moto_can_create(template["Resources"][left_out]["Type"]):
            assert left_out in local.unsupported, left_out
    assert {"ConsoleBucket", "ConsoleLogBucket"} <= set(local.body["Resources"])
    assert not {"ConsoleUrl", "ConsoleDistributionId"} & set(local.body["Outputs"])
    for logical_id, resource in local.body["Resources"].items():
        assert not references(resource).names & set(local.dropped), logical_id


def test_ops_queues_are_the_queues_the_ops_function_knows(template, repo_root):
    """OPS_QUEUES' names are the logical ids functions/ops/src/queues.rs knows (`KNOWN`), and the
    queues it redrives are the template's queues of events, each delivered back to the queue it
    failed from (its rule's target, or the queue whose dead letters it holds)."""
    import re

    source = (repo_root / "functions/ops/src/queues.rs").read_text(encoding="utf-8")
    known = re.search(r"pub const KNOWN: \[Known; \d+\] = \[(.*?)\n\];", source, re.S)
    assert known, "functions/ops/src/queues.rs declares `pub const KNOWN: [Known; N] = [ … ];`"
    entries = re.findall(
        r'name:\s*"(\w+)",\s*handling:\s*Handling::(?:(?:Redrive|Resend)\s*\{\s*delivers_to:\s*"(\w+)"|Replay)',
        known.group(1))
    assert [name for name, _ in entries] == WATCHED_QUEUES
    delivers_to = {name: target for name, target in entries if target}
    # Every queue goes back where it failed from, but the outbox's failures (to the bus).
    assert set(delivers_to) == set(WATCHED_QUEUES) - {"OutboxFailureQueue"}
    resources = template["Resources"]
    for dead_letters, target in delivers_to.items():
        redrives_here = resources[target]["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")
        rule_dead_letters = [
            t["DeadLetterConfig"]["Arn"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"
            for t in r["Properties"]["Targets"] if t["Arn"] == _queue_arn(target) and "DeadLetterConfig" in t
        ]
        assert _queue_arn(dead_letters) in [redrives_here, *rule_dead_letters], (dead_letters, target)


# -- Every function: JSON logs, X-Ray, the instruction set of the Architecture parameter -------

def _function_settings(template, resource):
    """A function's properties with Globals merged in the way SAM merges them (maps key by key)."""
    def merged(defaults, own):
        result = dict(defaults)
        for key, value in own.items():
            both = isinstance(value, dict) and isinstance(result.get(key), dict)
            result[key] = merged(result[key], value) if both else value
        return result

    return merged((template.get("Globals") or {}).get("Function") or {}, resource["Properties"])


def test_every_function_logs_json_is_traced_and_builds_for_the_architecture_parameter(template):
    parameter = template["Parameters"]["Architecture"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("arm64", ["arm64", "x86_64"])
    for logical_id, resource in _serverless_functions(template).items():
        settings = _function_settings(template, resource)
        logging = settings["LoggingConfig"]
        # The functions' lines have no timestamp: Lambda would take each for INFO, so its level
        # filter stays open (TRACE) and RUST_LOG (the LogLevel parameter) is the one filter.
        assert logging["LogFormat"] == "JSON", logical_id
        assert (logging["ApplicationLogLevel"], logging["SystemLogLevel"]) == ("TRACE", "WARN"), logical_id
        assert logging["LogGroup"] == {"Ref": logical_id.removesuffix("Function") + "LogGroup"}, logical_id
        assert settings["Tracing"] == "Active", logical_id
        assert settings["Architectures"] == [{"Ref": "Architecture"}], logical_id
        assert settings["Environment"]["Variables"]["RUST_LOG"] == {"Ref": "LogLevel"}, logical_id


def test_review_age_measures_the_review_queue_every_five_minutes(template):
    [(function, event)] = schedule_event_sources(template)
    assert (function.logical_id, function.binary, function.timeout) == ("ReviewAgeFunction", "review-age", 10)
    assert (event.name, event.schedule, event.enabled) == ("EveryFiveMinutes", "rate(5 minutes)", True)
    resource = _function(template, "review-age")
    assert resource["Metadata"] == {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": "review-age"}}
    assert resource["Properties"]["CodeUri"] == "."
    # Only the common environment (the table): what review-age reads is the review queue.
    assert set(template_environment(template, resource)) == {"TABLE_NAME", "PLAYER_AUTH", "RUST_LOG"}


SCHEDULE_EVENTS = """
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: fn}}
    Properties:
      Events:
        Hourly: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
        Nightly: {Type: Schedule, Properties: {Schedule: "cron(0 3 * * ? *)", Enabled: false}}
"""


def test_schedule_events_are_read_and_anything_else_is_refused(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(SCHEDULE_EVENTS)
    [function] = functions(load_template(path))
    assert [(e.name, e.schedule, e.enabled) for e in function.schedule_events] == [
        ("Hourly", "rate(1 hour)", True), ("Nightly", "cron(0 3 * * ? *)", False)]
    assert function.routes == [] and function.sqs_events == [] and function.stream_events == []
    path.write_text(SCHEDULE_EVENTS.replace("rate(1 hour)", "!Ref Every"))
    with pytest.raises(ValueError, match="literal rate"):
        functions(load_template(path))
