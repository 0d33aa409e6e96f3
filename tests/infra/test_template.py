"""template.yaml: it lints, and the local template derived from it is what moto can hold."""

import subprocess
import sysconfig
from pathlib import Path

from stakeline_local.template import (
    derive_local_template,
    functions,
    http_routes,
    load_template,
    references,
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
        ("GET", "/players/{player_id}/wallet"): "wallet-read",
        ("GET", "/players/{player_id}/transactions"): "wallet-read",
        ("POST", "/players/{player_id}/deposits"): "deposit",
    }
    by_binary = {f.binary: f for f in functions(template)}
    for function in by_binary.values():
        assert function.environment["TABLE_NAME"] == {"Ref": "WalletTable"}
        assert function.environment["PLAYER_AUTH"] == "apigateway"
    assert "PAYMENT_PROVIDER_HMAC_SECRETS" in by_binary["deposit"].environment
    assert "PAYMENT_PROVIDER_HMAC_SECRETS" not in by_binary["register"].environment


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

    by_id = {f.logical_id: f for f in functions(template)}
    for logical_id, resource in _serverless_functions(template).items():
        for name, event in resource["Properties"].get("Events", {}).items():
            authorizer = event["Properties"].get("Auth", {}).get("Authorizer")
            if authorizer == "NONE":
                # The function must then check an HMAC itself.
                assert {"PAYMENT_PROVIDER_HMAC_SECRETS", "AGGREGATOR_HMAC_SECRETS"} & set(
                    by_id[logical_id].environment
                ), f"{logical_id}.{name} has no authorizer and no signature secret"
            else:
                assert authorizer is None, f"{logical_id}.{name}: unexpected authorizer {authorizer}"


def test_function_policies_are_least_privilege_on_the_table(template):
    expected = {
        "register": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
        "deposit": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"},
        "wallet-read": {"dynamodb:GetItem", "dynamodb:Query"},
    }
    seen = {}
    for resource in _serverless_functions(template).values():
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        statements = [s for p in resource["Properties"]["Policies"] for s in p["Statement"]]
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] == {"Fn::GetAtt": ["WalletTable", "Arn"]}
            assert not any("*" in action for action in statement["Action"])
        seen[binary] = {a for s in statements for a in s["Action"]}
    for binary, actions in expected.items():
        assert seen[binary] == actions, binary


def test_table_is_durable_and_streams_both_images(template):
    table = template["Resources"]["WalletTable"]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    properties = table["Properties"]
    assert "TableName" not in properties
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}

