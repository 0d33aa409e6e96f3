"""The CDK app (infra/cdk) and template.yaml describe the same stack.

The CDK app's synthesized template (infra/cdk/cdk.out, written by `npm run --prefix infra/cdk
check`) is compared with template.yaml, aspect by aspect: the resources (by kind and role), the
HTTP routes and their authorizer, the JWT authorizer, the API stage (throttling, access logs),
the functions (runtime, memory, timeout, tracing, environment), their triggers (SQS queues and
the table's stream, with every batch setting), the EventBridge rules and their targets, the
queues and their dead-letter queues, the queue policies, the table, the log groups, each
function's own IAM permissions, the operator console's hosting (its buckets and their policies,
the CloudFront distribution with its origins and behaviours, the origin access control, the
response headers policy), the functions' schedules, the monitoring (the alarm topic, its key,
policy and subscription, every alarm by its metric, dimensions, statistic, period, threshold,
comparison, missing-data treatment and actions, and the dashboard's body as parsed JSON), the
parameters, the parameter rules, the outputs and the stack's description.

Both templates are reduced to the same model first, so that what differs only in form does not
count:
- resources are named by the role they play, not by logical id: a function by its Cargo binary
  (template.yaml's Metadata.BuildProperties.Binary; the CDK app writes the same name as
  `stakeline:binary` metadata), a queue by what it does ("queue feeding settle-queue",
  "dead letters of queue feeding bonus-award", "stream failures of publisher"…), a rule by
  its target, a log group by its function, an alarm or a dashboard by its name, the topic by
  what notifies it ("topic of alarms") and its key, policy and subscription by the topic, a
  bucket by what a distribution does with it
  ("bucket served by distribution", "log bucket of distribution"), a distribution's origin by
  its domain name (origin ids are free text);
- every Ref, Fn::GetAtt, Fn::Sub and Fn::Join becomes one string with `${role}` placeholders
  (so `!Sub /aws/lambda/${AWS::StackName}/x` and CDK's Fn::Join of the same parts are equal),
  and an attribute that equals a resource's Ref (an event bus's Name, a queue's QueueUrl) is
  written as the Ref;
- left-out settings take the service's default (an SQS event's batch size of 10, a queue's
  30-second visibility timeout…);
- what SAM generates from a function's events (routes, integrations, permissions, event source
  mappings, schedule rules, the role) is compared with the CDK resources that play the same part;
- a parameter of template.yaml that the CDK app takes as a context value when it builds
  (Architecture: `-c architecture=…`) counts as its default value.

IAM: a function's own permissions are template.yaml's `Policies` of the function, and in the
CDK app every statement of its role (inline or attached policy) except what CDK grants for an
event source, a destination or tracing: the SQS actions on the queue it consumes, the stream
actions on the table's stream, sending to its on-failure destination, X-Ray writes. SAM covers
those with managed policies (AWSLambdaSQSQueueExecutionRole, AWSLambdaDynamoDBExecutionRole,
AWSXrayWriteOnlyAccess), which are ignored, as is AWSLambdaBasicExecutionRole on both sides.

The self-tests at the end mutate copies of the templates (a route dropped, an IAM action
added, a batch size changed, every logical id renamed…) and check what the comparison says.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from stakeline_local.template import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_APP = REPO_ROOT / "infra" / "cdk"
CDK_OUT = CDK_APP / "cdk.out"
RUN_CHECK = "npm ci --prefix infra/cdk && npm run --prefix infra/cdk check"

# Metadata the CDK app puts on every function: the Cargo binary it runs.
BINARY_METADATA = "stakeline:binary"
# Parameter and rules CDK adds to every stack (bootstrap version), and the rule the offline
# check's template carries so that it can never be deployed (its code is a placeholder).
CDK_PARAMETERS = {"BootstrapVersion"}
CDK_RULES = {"CheckBootstrapVersion", "PlaceholderCodeIsNotDeployable"}

# Where a setting is left out, the service's default.
FUNCTION_DEFAULTS = {"MemorySize": 128, "Timeout": 3, "Architectures": ["x86_64"], "Tracing": "PassThrough"}
# template.yaml's parameters that the CDK app takes from a context value instead (it builds the
# functions itself, so the choice is made at synth): compared at their default value.
BUILD_CHOICES = {"Architecture": "architecture"}
ALARM_DEFAULTS = {
    "Statistic": None, "ExtendedStatistic": None, "Unit": None, "DatapointsToAlarm": None,
    "TreatMissingData": "missing", "ActionsEnabled": True, "AlarmActions": [], "OKActions": [],
    "InsufficientDataActions": [], "EvaluateLowSampleCountPercentile": None, "ThresholdMetricId": None,
}
QUEUE_DEFAULTS = {
    "VisibilityTimeout": 30, "MessageRetentionPeriod": 345600, "DelaySeconds": 0,
    "ReceiveMessageWaitTimeSeconds": 0, "MaximumMessageSize": 262144, "FifoQueue": False,
}
SQS_EVENT_DEFAULTS = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "Enabled": True}
STREAM_EVENT_DEFAULTS = {
    "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "Enabled": True,
    "BisectBatchOnFunctionError": False, "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1,
    "ParallelizationFactor": 1, "TumblingWindowInSeconds": 0,
}
# Attributes that return what the resource's Ref returns.
REF_EQUIVALENT_ATTRIBUTE = {"AWS::Events::EventBus": "Name", "AWS::SQS::Queue": "QueueUrl"}

# Resource kinds compared one by one (by role); other types are the plumbing SAM generates
# from a function's events and properties, compared through the routes, triggers and IAM.
KINDS = {
    "AWS::Serverless::Function": "function",
    "AWS::Lambda::Function": "function",
    "AWS::Serverless::HttpApi": "HTTP API",
    "AWS::ApiGatewayV2::Api": "HTTP API",
    "AWS::DynamoDB::Table": "table",
    "AWS::SQS::Queue": "queue",
    "AWS::SQS::QueuePolicy": "queue policy",
    "AWS::Events::EventBus": "event bus",
    "AWS::Events::Rule": "rule",
    "AWS::Logs::LogGroup": "log group",
    "AWS::S3::Bucket": "bucket",
    "AWS::S3::BucketPolicy": "bucket policy",
    "AWS::CloudFront::Distribution": "distribution",
    "AWS::CloudFront::OriginAccessControl": "origin access control",
    "AWS::CloudFront::ResponseHeadersPolicy": "response headers policy",
    "AWS::SNS::Topic": "topic",
    "AWS::SNS::TopicPolicy": "topic policy",
    "AWS::SNS::Subscription": "subscription",
    "AWS::KMS::Key": "key",
    "AWS::CloudWatch::Alarm": "alarm",
    "AWS::CloudWatch::Dashboard": "dashboard",
}
# CloudFront's defaults where a distribution or a cache behaviour leaves a setting out.
DISTRIBUTION_DEFAULTS = {
    "HttpVersion": "http1.1", "IPV6Enabled": False, "PriceClass": "PriceClass_All", "DefaultRootObject": None,
    "CustomErrorResponses": [], "Aliases": [], "Restrictions": None, "ViewerCertificate": None, "WebACLId": None,
    "Logging": None, "Comment": None,
}
BEHAVIOUR_DEFAULTS = {
    "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "Compress": False,
    "OriginRequestPolicyId": None, "ResponseHeadersPolicyId": None, "CachePolicyId": None,
    "FunctionAssociations": [], "LambdaFunctionAssociations": [], "TrustedKeyGroups": [],
    "SmoothStreaming": False, "FieldLevelEncryptionId": None, "RealtimeLogConfigArn": None,
}

# What CDK grants a function for its triggers and tracing (SAM: managed policies).
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
SQS_CONSUME_ACTIONS = {
    "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
}
STREAM_READ_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
SQS_DESTINATION_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
BASIC_EXECUTION_POLICY = "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


# --- Loading ------------------------------------------------------------------------------------


def shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def cdk_template_path(cdk_out: Path = CDK_OUT) -> Path:
    """The one stack template of the CDK app's cloud assembly."""
    manifest = cdk_out / "manifest.json"
    if not manifest.is_file():
        pytest.fail(
            f"{shown(cdk_out)} holds no synthesized CDK app: run `{RUN_CHECK}` from the "
            "repository root first (it synthesizes offline, without building Rust)",
            pytrace=False,
        )
    artifacts = json.loads(manifest.read_text(encoding="utf-8")).get("artifacts", {})
    stacks = [a for a in artifacts.values() if a.get("type") == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        pytest.fail(f"expected one stack in {manifest}, found {len(stacks)}: run `{RUN_CHECK}` again", pytrace=False)
    path = cdk_out / stacks[0]["properties"]["templateFile"]
    sources = [CDK_APP / "cdk.json", CDK_APP / "package-lock.json", *CDK_APP.glob("bin/**/*.ts"),
               *CDK_APP.glob("lib/**/*.ts")]
    newer = [shown(s) for s in sources if s.stat().st_mtime > path.stat().st_mtime]
    if newer:
        pytest.fail(
            f"{shown(path)} is older than {', '.join(newer)}: run "
            f"`npm run --prefix infra/cdk check` again",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def cdk_template() -> dict:
    return json.loads(cdk_template_path().read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sam_template() -> dict:
    return load_template(REPO_ROOT / "template.yaml")


# --- Reading a template ---------------------------------------------------------------------------


def as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def target_of(value: Any) -> tuple[str, str | None] | None:
    """(logical id, attribute or None) of a Ref or Fn::GetAtt, else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    if isinstance(value.get("Ref"), str):
        return value["Ref"], None
    if "Fn::GetAtt" in value:
        argument = value["Fn::GetAtt"]
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
            return logical_id, attribute
        if isinstance(argument, list) and len(argument) == 2 and all(isinstance(a, str) for a in argument):
            return argument[0], argument[1]
    return None


def target_id(value: Any) -> str | None:
    found = target_of(value)
    return found[0] if found else None


def parse_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class View:
    """One template, its resources named by role, and its values rendered role by role."""

    def __init__(self, template: dict, side: str):
        self.template = template
        self.side = side  # "sam" or "cdk"
        self.resources: dict[str, dict] = template.get("Resources", {}) or {}
        self.parameters: dict = template.get("Parameters", {}) or {}
        self.roles: dict[str, str] = {}
        self.binaries: dict[str, str] = {}  # function logical id -> binary
        self.triggers: dict[str, list[dict]] = {}  # function logical id -> its event sources
        self._assign_roles()

    # Resources by type.
    def of_type(self, *types: str) -> dict[str, dict]:
        return {i: r for i, r in self.resources.items() if r.get("Type") in types}

    def props(self, logical_id: str) -> dict:
        return self.resources[logical_id].get("Properties", {}) or {}

    def role(self, logical_id: str) -> str:
        return self.roles.get(logical_id, logical_id)

    # -- roles ----------------------------------------------------------------------------------

    def _assign_roles(self) -> None:
        if self.side == "sam":
            for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
                binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
                self.binaries[logical_id] = binary or f"<no binary: {logical_id}>"
                self.triggers[logical_id] = self._sam_triggers(logical_id)
        else:
            for logical_id, resource in self.of_type("AWS::Lambda::Function").items():
                binary = (resource.get("Metadata") or {}).get(BINARY_METADATA)
                self.binaries[logical_id] = binary or f"<no binary: {logical_id}>"
                self.triggers[logical_id] = []
            for logical_id, mapping in self.of_type("AWS::Lambda::EventSourceMapping").items():
                function = target_id(mapping["Properties"].get("FunctionName"))
                if function in self.triggers:
                    self.triggers[function].append({"mapping": logical_id, **self._cdk_trigger(mapping["Properties"])})
        for logical_id, binary in self.binaries.items():
            self.roles[logical_id] = f"function {binary}"

        for kind, name in (("AWS::DynamoDB::Table", "table"), ("AWS::Events::EventBus", "event bus"),
                           ("AWS::Serverless::HttpApi", "HTTP API"), ("AWS::ApiGatewayV2::Api", "HTTP API")):
            found = self.of_type(kind)
            for logical_id in found:
                self.roles[logical_id] = name if len(found) == 1 else f"{name} {logical_id}"

        queues = set(self.of_type("AWS::SQS::Queue"))
        for function, triggers in self.triggers.items():
            binary = self.binaries[function]
            for trigger in triggers:
                if trigger["source"] in queues:
                    self.roles[trigger["source"]] = f"queue feeding {binary}"
                if trigger.get("on_failure") in queues:
                    self.roles[trigger["on_failure"]] = f"stream failures of {binary}"
        # Rules by their targets, then the dead-letter queues of rule targets and of queues,
        # until nothing changes (a dead-letter queue's own dead-letter queue…).
        changed = True
        while changed:
            changed = False
            for logical_id, rule in self.of_type("AWS::Events::Rule").items():
                targets = (rule.get("Properties") or {}).get("Targets") or []
                named = sorted(self.role(target_id(t.get("Arn")) or "?") for t in targets)
                role = f"rule to {' and '.join(named)}" if named else f"rule {logical_id}"
                if self.roles.get(logical_id) != role:
                    self.roles[logical_id] = role
                    changed = True
                for target in targets:
                    dead_letters = target_id((target.get("DeadLetterConfig") or {}).get("Arn"))
                    if dead_letters in queues and dead_letters not in self.roles:
                        self.roles[dead_letters] = f"dead letters of {role}"
                        changed = True
            for logical_id in queues:
                redrive = parse_json(self.props(logical_id).get("RedrivePolicy")) or {}
                dead_letters = target_id(redrive.get("deadLetterTargetArn"))
                if logical_id in self.roles and dead_letters in queues and dead_letters not in self.roles:
                    self.roles[dead_letters] = f"dead letters of {self.roles[logical_id]}"
                    changed = True

        for logical_id, binary in self.binaries.items():
            properties = self.props(logical_id)
            log_group = target_id((properties.get("LoggingConfig") or {}).get("LogGroup"))
            if log_group:
                self.roles[log_group] = f"log group of {binary}"
            if self.side == "cdk":
                role = target_id(properties.get("Role"))
                if role:
                    self.roles[role] = f"role of {binary}"
            else:
                # SAM names a function's implicit role `<Function>Role` (`!GetAtt OpsFunctionRole.Arn`).
                self.roles[f"{logical_id}Role"] = f"role of {binary}"
        for logical_id, stage in self._stages().items():
            destination = target_id((stage.get("AccessLogSettings") or {}).get("DestinationArn"))
            if destination:
                self.roles[destination] = "API access log group"
        for logical_id, authorizer in self.of_type("AWS::ApiGatewayV2::Authorizer").items():
            self.roles[logical_id] = f"authorizer {authorizer['Properties'].get('Name')}"
        for logical_id, policy in self.of_type("AWS::SQS::QueuePolicy").items():
            queues_named = sorted(self.role(target_id(q) or "?") for q in policy["Properties"].get("Queues", []))
            self.roles[logical_id] = f"policy of {' and '.join(queues_named)}"
        self._assign_console_roles()
        self._assign_monitoring_roles()

    def _assign_monitoring_roles(self) -> None:
        """Alarms and dashboards by their names; a topic by what notifies it; its key, policy and
        subscriptions by the topic."""
        for logical_id, alarm in self.of_type("AWS::CloudWatch::Alarm").items():
            properties = alarm.get("Properties") or {}
            self.roles[logical_id] = f"alarm {self.render(properties.get('AlarmName'))}"
            for action in [*properties.get("AlarmActions", []), *properties.get("OKActions", [])]:
                topic = target_id(action)
                if self.resources.get(topic or "", {}).get("Type") == "AWS::SNS::Topic":
                    self.roles[topic] = "topic of alarms"
        for logical_id, dashboard in self.of_type("AWS::CloudWatch::Dashboard").items():
            self.roles[logical_id] = f"dashboard {self.render((dashboard.get('Properties') or {}).get('DashboardName'))}"
        for logical_id, topic in self.of_type("AWS::SNS::Topic").items():
            key = target_id((topic.get("Properties") or {}).get("KmsMasterKeyId"))
            if key in self.resources:
                self.roles[key] = f"key of {self.role(logical_id)}"
        for logical_id, policy in self.of_type("AWS::SNS::TopicPolicy").items():
            named = sorted(self.role(target_id(t) or "?") for t in policy["Properties"].get("Topics", []))
            self.roles[logical_id] = f"policy of {' and '.join(named)}"
        for logical_id, subscription in self.of_type("AWS::SNS::Subscription").items():
            properties = subscription.get("Properties") or {}
            topic = self.role(target_id(properties.get("TopicArn")) or "?")
            self.roles[logical_id] = f"{properties.get('Protocol')} subscription of {topic}"

    def _assign_console_roles(self) -> None:
        """Distributions, and what they use by what they do with it: the buckets they serve or
        log to, their origin access controls and response headers policies; then the access-log
        buckets of those buckets, and the bucket policies by their bucket."""
        distributions = self.of_type("AWS::CloudFront::Distribution")
        for logical_id, distribution in distributions.items():
            name = "distribution" if len(distributions) == 1 else f"distribution {logical_id}"
            self.roles[logical_id] = name
            config = (distribution.get("Properties") or {}).get("DistributionConfig") or {}
            for origin in config.get("Origins") or []:
                bucket = target_id(origin.get("DomainName"))
                if self.resources.get(bucket or "", {}).get("Type") == "AWS::S3::Bucket":
                    self.roles[bucket] = f"bucket served by {name}"
                access_control = target_id(origin.get("OriginAccessControlId"))
                if access_control:
                    self.roles[access_control] = f"origin access control of {name}"
            log_bucket = target_id((config.get("Logging") or {}).get("Bucket"))
            if log_bucket:
                self.roles[log_bucket] = f"log bucket of {name}"
            for behaviour in [config.get("DefaultCacheBehavior") or {}, *(config.get("CacheBehaviors") or [])]:
                headers = target_id(behaviour.get("ResponseHeadersPolicyId"))
                if headers:
                    self.roles[headers] = f"response headers of {name}"
        for logical_id in self.of_type("AWS::S3::Bucket"):
            destination = target_id((self.props(logical_id).get("LoggingConfiguration") or {}).get("DestinationBucketName"))
            if destination and destination not in self.roles and logical_id in self.roles:
                self.roles[destination] = f"access logs of {self.roles[logical_id]}"
        for logical_id, policy in self.of_type("AWS::S3::BucketPolicy").items():
            self.roles[logical_id] = f"policy of {self.role(target_id(policy['Properties'].get('Bucket')) or '?')}"

    def _stages(self) -> dict[str, dict]:
        """Each API stage -> its settings (SAM: the HttpApi, whose properties hold them)."""
        if self.side == "sam":
            return {i: r.get("Properties", {}) or {} for i, r in self.of_type("AWS::Serverless::HttpApi").items()}
        return {i: r["Properties"] for i, r in self.of_type("AWS::ApiGatewayV2::Stage").items()}

    def _sam_triggers(self, function: str) -> list[dict]:
        found = []
        for name, event in (self.props(function).get("Events") or {}).items():
            properties = event.get("Properties") or {}
            if event.get("Type") == "SQS":
                found.append({"event": name, "type": "SQS", **self._event_settings(properties, properties.get("Queue"))})
            elif event.get("Type") in ("DynamoDB", "Kinesis"):
                found.append({"event": name, "type": event["Type"], **self._event_settings(properties, properties.get("Stream"))})
        return found

    def _cdk_trigger(self, properties: dict) -> dict:
        source = properties.get("EventSourceArn")
        source_type = self.resources.get(target_id(source) or "", {}).get("Type")
        kind = {"AWS::SQS::Queue": "SQS", "AWS::DynamoDB::Table": "DynamoDB", "AWS::Kinesis::Stream": "Kinesis"}
        return {"type": kind.get(source_type, str(source_type)), **self._event_settings(properties, source)}

    @staticmethod
    def _event_settings(properties: dict, source: Any) -> dict:
        destination = ((properties.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return {
            "source": target_id(source),
            "source_value": source,
            "on_failure": target_id(destination),
            "on_failure_value": destination,
            "properties": properties,
        }

    # -- rendering ------------------------------------------------------------------------------

    def placeholder(self, logical_id: str, attribute: str | None) -> str:
        if self.side == "sam" and logical_id in BUILD_CHOICES and logical_id in self.parameters:
            return str(self.parameters[logical_id].get("Default"))
        if logical_id.startswith("AWS::") or logical_id in self.parameters:
            return "${" + logical_id + "}"
        resource_type = self.resources.get(logical_id, {}).get("Type")
        if attribute and REF_EQUIVALENT_ATTRIBUTE.get(resource_type) == attribute:
            attribute = None
        return "${" + self.role(logical_id) + (f".{attribute}" if attribute else "") + "}"

    def render(self, value: Any) -> Any:
        """The value with every Ref, GetAtt, Sub and Join as one string with role placeholders."""
        if isinstance(value, list):
            return [self.render(item) for item in value]
        if not isinstance(value, dict):
            return value
        found = target_of(value)
        if found:
            return self.placeholder(*found)
        if len(value) == 1 and "Fn::Sub" in value:
            argument = value["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

            def replace(match: re.Match) -> str:
                name = match.group(1)
                if name in variables:
                    rendered = self.render(variables[name])
                    return rendered if isinstance(rendered, str) else json.dumps(rendered)
                logical_id, _, attribute = name.partition(".")
                return self.placeholder(logical_id, attribute or None)

            return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)
        if len(value) == 1 and "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            rendered = [self.render(part) for part in parts]
            if all(isinstance(part, str) for part in rendered):
                return separator.join(rendered)
            return {"Fn::Join": [separator, rendered]}
        return {key: self.render(item) for key, item in value.items()}


# --- The model: each aspect of a template, in the same form for both ------------------------------


def resource_kinds(view: View) -> dict[str, str]:
    """Every resource compared by role -> its kind; other resources only if they are no plumbing
    of a function or of the API (those are compared through the routes, triggers and IAM)."""
    found = {}
    function_roles = {target_id(view.props(f).get("Role")) for f in view.binaries} if view.side == "cdk" else set()
    apis = set(view.of_type("AWS::ApiGatewayV2::Api", "AWS::Serverless::HttpApi"))
    scheduled = schedule_rules(view)
    for logical_id, resource in view.resources.items():
        resource_type = resource.get("Type")
        properties = resource.get("Properties", {}) or {}
        if view.side == "cdk" and logical_id in scheduled:
            continue  # a function's schedule: compared as such
        if resource_type in KINDS:
            found[view.role(logical_id)] = KINDS[resource_type]
            continue
        if view.side == "cdk":
            if resource_type == "AWS::IAM::Role" and logical_id in function_roles:
                continue
            if resource_type == "AWS::IAM::Policy" and {target_id(r) for r in properties.get("Roles", [])} <= function_roles:
                continue
            if resource_type in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping") and \
                    target_id(properties.get("FunctionName")) in view.binaries:
                continue
            if resource_type.startswith("AWS::ApiGatewayV2::") and target_id(properties.get("ApiId")) in apis:
                continue
        found[f"{logical_id} (not compared: no role for it)"] = resource_type
    return found


def routes(view: View) -> dict[str, dict]:
    """'METHOD /path' -> the function's binary, its authorizer (None: no authorizer), payload format."""
    found: dict[str, dict] = {}
    if view.side == "sam":
        apis = view.of_type("AWS::Serverless::HttpApi")
        for function, binary in view.binaries.items():
            for name, event in (view.props(function).get("Events") or {}).items():
                if event.get("Type") != "HttpApi":
                    continue
                properties = event.get("Properties") or {}
                api = target_id(properties.get("ApiId"))
                default = (((apis.get(api) or {}).get("Properties") or {}).get("Auth") or {}).get("DefaultAuthorizer")
                authorizer = (properties.get("Auth") or {}).get("Authorizer", default)
                key = f"{str(properties.get('Method', 'ANY')).upper()} {properties.get('Path')}"
                found[key] = {
                    "api": view.role(api) if api else "implicit HTTP API",
                    "function": binary,
                    "authorizer": None if authorizer in (None, "NONE") else authorizer,
                    "scopes": sorted((properties.get("Auth") or {}).get("AuthorizationScopes") or []),
                    "payload format": str(properties.get("PayloadFormatVersion", "2.0")),
                }
        return found
    authorizers = view.of_type("AWS::ApiGatewayV2::Authorizer")
    for logical_id, route in view.of_type("AWS::ApiGatewayV2::Route").items():
        properties = route["Properties"]
        target = properties.get("Target")
        integration_id = None
        if isinstance(target, dict) and "Fn::Join" in target:
            integration_id = next((target_id(p) for p in target["Fn::Join"][1] if target_id(p)), None)
        integration = view.props(integration_id) if integration_id in view.resources else {}
        function = target_id(integration.get("IntegrationUri"))
        authorizer_id = target_id(properties.get("AuthorizerId"))
        authorization = properties.get("AuthorizationType", "NONE")
        found[properties["RouteKey"]] = {
            "api": view.role(target_id(properties.get("ApiId")) or "?"),
            "function": view.binaries.get(function, f"<not a function: {function}>"),
            "authorizer": None if authorization == "NONE" else
            (authorizers.get(authorizer_id, {}).get("Properties", {}).get("Name") or f"<{authorization}>"),
            "scopes": sorted(properties.get("AuthorizationScopes") or []),
            "payload format": str(integration.get("PayloadFormatVersion", "1.0")),
        }
    return found


def authorizers(view: View) -> dict[str, dict]:
    found = {}
    if view.side == "sam":
        for api in view.of_type("AWS::Serverless::HttpApi"):
            for name, authorizer in ((view.props(api).get("Auth") or {}).get("Authorizers") or {}).items():
                jwt = authorizer.get("JwtConfiguration") or {}
                found[name] = {
                    "type": "JWT" if jwt else "REQUEST",
                    "issuer": view.render(jwt.get("issuer")),
                    "audience": view.render(as_list(jwt.get("audience"))),
                    "identity source": view.render(as_list(authorizer.get("IdentitySource"))),
                }
        return found
    for authorizer in view.of_type("AWS::ApiGatewayV2::Authorizer").values():
        properties = authorizer["Properties"]
        jwt = properties.get("JwtConfiguration") or {}
        found[properties["Name"]] = {
            "type": properties.get("AuthorizerType"),
            "issuer": view.render(jwt.get("Issuer")),
            "audience": view.render(as_list(jwt.get("Audience"))),
            "identity source": view.render(as_list(properties.get("IdentitySource"))),
        }
    return found


def api_stages(view: View) -> dict[str, dict]:
    """The API's stage: name, throttling of every route, access logs; and the API's description."""
    found = {}
    for logical_id, stage in view._stages().items():
        api = logical_id if view.side == "sam" else target_id(stage.get("ApiId"))
        access_logs = stage.get("AccessLogSettings") or {}
        throttling = stage.get("DefaultRouteSettings") or {}
        found[view.role(api)] = {
            "stage": stage.get("StageName", "$default"),
            "description": view.props(api).get("Description"),
            "throttling burst limit": view.render(throttling.get("ThrottlingBurstLimit")),
            "throttling rate limit": view.render(throttling.get("ThrottlingRateLimit")),
            "access log destination": view.render(access_logs.get("DestinationArn")),
            "access log format": access_logs.get("Format"),
        }
    return found


def _function_settings(view: View, function: str) -> dict:
    """A function's properties, with SAM's Globals merged in (environment variables too)."""
    properties = dict(view.props(function))
    if view.side == "sam":
        # SAM merges each map of Globals with the function's own (LoggingConfig, Environment…).
        return _merged((view.template.get("Globals") or {}).get("Function") or {}, properties)
    properties["Tracing"] = (properties.get("TracingConfig") or {}).get("Mode")
    return properties


def _merged(defaults: dict, own: dict) -> dict:
    merged = dict(defaults)
    for key, value in own.items():
        both_maps = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merged(merged[key], value) if both_maps else value
    return merged


def functions(view: View) -> dict[str, dict]:
    found = {}
    for function, binary in view.binaries.items():
        settings = _function_settings(view, function)
        found[binary] = {
            "runtime": settings.get("Runtime"),
            "handler": settings.get("Handler"),
            "architectures": view.render(settings.get("Architectures")) or FUNCTION_DEFAULTS["Architectures"],
            "memory": settings.get("MemorySize", FUNCTION_DEFAULTS["MemorySize"]),
            "timeout": settings.get("Timeout", FUNCTION_DEFAULTS["Timeout"]),
            "tracing": settings.get("Tracing") or FUNCTION_DEFAULTS["Tracing"],
            "description": settings.get("Description"),
            "log group": view.render((settings.get("LoggingConfig") or {}).get("LogGroup")),
            "log format": (settings.get("LoggingConfig") or {}).get("LogFormat", "Text"),
            "application log level": (settings.get("LoggingConfig") or {}).get("ApplicationLogLevel"),
            "system log level": (settings.get("LoggingConfig") or {}).get("SystemLogLevel"),
            "environment variables": sorted(((settings.get("Environment") or {}).get("Variables") or {})),
            "reserved concurrency": settings.get("ReservedConcurrentExecutions"),
            "dead-letter target": view.render(
                (settings.get("DeadLetterQueue") or settings.get("DeadLetterConfig") or {}).get("TargetArn")),
        }
    return found


def environment_values(view: View) -> dict[str, dict]:
    return {
        binary: view.render(((_function_settings(view, function).get("Environment") or {}).get("Variables")) or {})
        for function, binary in view.binaries.items()
    }


def triggers(view: View) -> dict[str, list[dict]]:
    """binary -> its SQS and stream event sources, every batch setting with Lambda's defaults."""
    found = {}
    for function, binary in view.binaries.items():
        sources = []
        for trigger in view.triggers[function]:
            properties = trigger["properties"]
            defaults = SQS_EVENT_DEFAULTS if trigger["type"] == "SQS" else STREAM_EVENT_DEFAULTS
            source = {
                "type": trigger["type"],
                "source": view.render(trigger["source_value"]),
                **{key: properties.get(key, default) for key, default in defaults.items()},
                "report batch item failures": "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
                "maximum concurrency": (properties.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                "filters": [parse_json(f.get("Pattern")) for f in (properties.get("FilterCriteria") or {}).get("Filters") or []],
            }
            if trigger["type"] != "SQS":
                source["StartingPosition"] = properties.get("StartingPosition")
                source["on failure"] = view.render(trigger["on_failure_value"])
            sources.append(source)
        found[binary] = sorted(sources, key=lambda s: json.dumps(s, sort_keys=True))
    return found


def schedule_rules(view: View) -> dict[str, str]:
    """CDK: each rule on a schedule whose targets are all functions -> the binary it invokes
    (template.yaml writes these as the function's `Schedule` events)."""
    found = {}
    for logical_id, rule in view.of_type("AWS::Events::Rule").items():
        properties = rule.get("Properties") or {}
        targets = [target_id(t.get("Arn")) for t in properties.get("Targets") or []]
        if view.side == "cdk" and properties.get("ScheduleExpression") and targets and \
                all(t in view.binaries for t in targets):
            found[logical_id] = view.binaries[targets[0]]
    return found


def schedules(view: View) -> dict[str, list[dict]]:
    """binary -> its schedules: expression, description, state, input."""
    found: dict[str, list[dict]] = {binary: [] for binary in view.binaries.values()}
    if view.side == "sam":
        for function, binary in view.binaries.items():
            for event in (view.props(function).get("Events") or {}).values():
                if event.get("Type") != "Schedule":
                    continue
                properties = event.get("Properties") or {}
                state = properties.get("State") or ("DISABLED" if properties.get("Enabled") is False else "ENABLED")
                found[binary].append({
                    "schedule": properties.get("Schedule"), "description": properties.get("Description"),
                    "state": state, "input": view.render(properties.get("Input")),
                })
    else:
        for logical_id, binary in schedule_rules(view).items():
            properties = view.props(logical_id)
            for target in properties.get("Targets") or []:
                found[binary].append({
                    "schedule": properties.get("ScheduleExpression"), "description": properties.get("Description"),
                    "state": properties.get("State", "ENABLED"), "input": view.render(target.get("Input")),
                })
    return {binary: sorted(s, key=lambda x: json.dumps(x, sort_keys=True)) for binary, s in found.items()}


def event_rules(view: View) -> dict[str, dict]:
    found = {}
    scheduled = schedule_rules(view)
    for logical_id, rule in view.of_type("AWS::Events::Rule").items():
        if logical_id in scheduled:
            continue
        properties = rule.get("Properties") or {}
        found[view.role(logical_id)] = {
            "event bus": view.render(properties.get("EventBusName", "default")),
            "pattern": parse_json(properties.get("EventPattern")),
            "schedule": properties.get("ScheduleExpression"),
            "state": properties.get("State", "ENABLED"),
            "description": properties.get("Description"),
            "targets": sorted(
                (
                    {
                        "arn": view.render(target.get("Arn")),
                        "retry policy": target.get("RetryPolicy"),
                        "dead letters": view.render((target.get("DeadLetterConfig") or {}).get("Arn")),
                        "input": view.render({k: target[k] for k in ("Input", "InputPath", "InputTransformer") if k in target}),
                        "role": view.render(target.get("RoleArn")),
                    }
                    for target in properties.get("Targets") or []
                ),
                key=lambda t: json.dumps(t, sort_keys=True),
            ),
        }
    return found


def event_buses(view: View) -> dict[str, dict]:
    return {
        view.role(i): {"name": view.render((r.get("Properties") or {}).get("Name"))}
        for i, r in view.of_type("AWS::Events::EventBus").items()
    }


def queues(view: View) -> dict[str, dict]:
    found = {}
    for logical_id, queue in view.of_type("AWS::SQS::Queue").items():
        properties = queue.get("Properties") or {}
        redrive = parse_json(properties.get("RedrivePolicy"))
        found[view.role(logical_id)] = {
            **{key: properties.get(key, default) for key, default in QUEUE_DEFAULTS.items()},
            "SqsManagedSseEnabled": properties.get("SqsManagedSseEnabled"),
            "KmsMasterKeyId": view.render(properties.get("KmsMasterKeyId")),
            "QueueName": view.render(properties.get("QueueName")),
            "dead letters": view.render(redrive.get("deadLetterTargetArn")) if redrive else None,
            "maxReceiveCount": int(redrive["maxReceiveCount"]) if redrive else None,
            "deletion policy": queue.get("DeletionPolicy", "Delete"),
        }
    return found


def _principal(view: View, principal: Any) -> dict:
    if principal == "*":
        return {"AWS": ["*"]}
    return {kind: sorted(map(str, view.render(as_list(value)))) for kind, value in (principal or {}).items()}


def _statements(view: View, document: Any) -> list[dict]:
    return [
        {
            "effect": statement.get("Effect"),
            "principal": _principal(view, statement.get("Principal")) if "Principal" in statement else None,
            "actions": sorted(as_list(statement.get("Action"))),
            "not actions": sorted(as_list(statement.get("NotAction"))),
            "resources": sorted(map(str, view.render(as_list(statement.get("Resource"))))),
            "condition": view.render(statement.get("Condition")),
        }
        for statement in as_list((document or {}).get("Statement"))
    ]


def queue_policies(view: View) -> dict[str, list[dict]]:
    """queue -> the statements of the policies on it (effect, principal, actions, resources,
    condition operators, keys and values; not the Sid)."""
    found: dict[str, list[dict]] = {}
    for policy in view.of_type("AWS::SQS::QueuePolicy").values():
        properties = policy["Properties"]
        for queue in properties.get("Queues", []):
            found.setdefault(view.role(target_id(queue) or str(queue)), []).extend(
                _statements(view, properties.get("PolicyDocument")))
    return {queue: sorted(s, key=lambda x: json.dumps(x, sort_keys=True)) for queue, s in found.items()}


def tables(view: View) -> dict[str, dict]:
    found = {}
    for logical_id, table in view.of_type("AWS::DynamoDB::Table").items():
        properties = table.get("Properties") or {}
        ttl = properties.get("TimeToLiveSpecification") or {}
        found[view.role(logical_id)] = {
            "keys": properties.get("KeySchema"),
            "attributes": sorted(properties.get("AttributeDefinitions", []), key=lambda a: a["AttributeName"]),
            "billing mode": properties.get("BillingMode", "PROVISIONED"),
            "stream": (properties.get("StreamSpecification") or {}).get("StreamViewType"),
            "time to live": ttl.get("AttributeName") if ttl.get("Enabled") else None,
            "point-in-time recovery": bool((properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")),
            "encryption": properties.get("SSESpecification"),
            "global secondary indexes": properties.get("GlobalSecondaryIndexes"),
            "local secondary indexes": properties.get("LocalSecondaryIndexes"),
            "deletion protection": properties.get("DeletionProtectionEnabled", False),
            "deletion policy": table.get("DeletionPolicy", "Delete"),
            "update replace policy": table.get("UpdateReplacePolicy", "Delete"),
        }
    return found


def log_groups(view: View) -> dict[str, dict]:
    return {
        view.role(logical_id): {
            "name": view.render((group.get("Properties") or {}).get("LogGroupName")),
            "retention in days": (group.get("Properties") or {}).get("RetentionInDays"),
            "deletion policy": group.get("DeletionPolicy", "Delete"),
        }
        for logical_id, group in view.of_type("AWS::Logs::LogGroup").items()
    }


def _condition(condition: Any) -> str:
    return json.dumps(condition, sort_keys=True) if condition else ""


def _grants(view: View, statements: list[dict]) -> set[tuple]:
    """(effect, action, resource, condition or "") for every action x resource of the statements."""
    return {
        (statement["effect"], action, resource, _condition(statement["condition"]))
        for statement in statements
        for action in statement["actions"] + [f"NOT {a}" for a in statement["not actions"]]
        for resource in statement["resources"] or ["<no resource>"]
    }


def role_statements(view: View, function: str) -> tuple[list[dict], list[str]]:
    """CDK: every statement of a function's role (inline policies and attached IAM policies),
    and its managed policies."""
    role = target_id(view.props(function).get("Role"))
    if role not in view.resources:
        return [], []
    properties = view.props(role)
    statements = [s for p in properties.get("Policies", []) for s in _statements(view, p.get("PolicyDocument"))]
    for policy in view.of_type("AWS::IAM::Policy").values():
        if role in {target_id(r) for r in policy["Properties"].get("Roles", [])}:
            statements += _statements(view, policy["Properties"].get("PolicyDocument"))
    return statements, sorted(map(str, view.render(properties.get("ManagedPolicyArns", []))))


def implied_grants(view: View, function: str) -> set[tuple]:
    """What CDK grants a function for its triggers, its on-failure destination and tracing."""
    no_condition = _condition(None)
    grants = set()
    if _function_settings(view, function).get("Tracing") == "Active":
        grants |= {("Allow", action, "*", no_condition) for action in XRAY_ACTIONS}
    for trigger in view.triggers[function]:
        source = view.render(trigger["source_value"])
        if trigger["type"] == "SQS":
            grants |= {("Allow", action, source, no_condition) for action in SQS_CONSUME_ACTIONS}
        elif trigger["type"] == "DynamoDB":
            grants |= {("Allow", action, source, no_condition) for action in STREAM_READ_ACTIONS}
            grants.add(("Allow", "dynamodb:ListStreams", "*", no_condition))
        if trigger.get("on_failure"):
            destination = view.render(trigger["on_failure_value"])
            grants |= {("Allow", action, destination, no_condition) for action in SQS_DESTINATION_ACTIONS}
    return grants


def own_grants(view: View, function: str) -> set[tuple]:
    if view.side == "sam":
        grants = set()
        for policy in as_list(view.props(function).get("Policies")):
            if isinstance(policy, dict) and "Statement" in policy:
                grants |= _grants(view, _statements(view, policy))
            else:  # a managed policy or a SAM policy template: compared as it is
                grants.add(("policy", json.dumps(view.render(policy), sort_keys=True), "", ""))
        return grants
    statements, _managed = role_statements(view, function)
    return _grants(view, statements) - implied_grants(view, function)


def iam(view: View) -> dict[str, list[list[str]]]:
    """binary -> its own permissions: [effect, action, resource, condition], sorted."""
    return {binary: sorted(map(list, own_grants(view, function))) for function, binary in view.binaries.items()}


def buckets(view: View) -> dict[str, dict]:
    """bucket -> every property as written (role placeholders), and its deletion policies."""
    return {
        view.role(logical_id): {
            "properties": view.render(bucket.get("Properties") or {}),
            "deletion policy": bucket.get("DeletionPolicy", "Delete"),
            "update replace policy": bucket.get("UpdateReplacePolicy", "Delete"),
        }
        for logical_id, bucket in view.of_type("AWS::S3::Bucket").items()
    }


def bucket_policies(view: View) -> dict[str, list[dict]]:
    """bucket -> the statements of the policies on it (as queue policies are compared)."""
    found: dict[str, list[dict]] = {}
    for policy in view.of_type("AWS::S3::BucketPolicy").values():
        properties = policy["Properties"]
        bucket = view.role(target_id(properties.get("Bucket")) or str(properties.get("Bucket")))
        found.setdefault(bucket, []).extend(_statements(view, properties.get("PolicyDocument")))
    return {bucket: sorted(s, key=lambda x: json.dumps(x, sort_keys=True)) for bucket, s in found.items()}


def _behaviour(view: View, behaviour: dict, origin_domains: dict[str, Any]) -> dict:
    """A cache behaviour with CloudFront's defaults, its origin named by domain, not by id."""
    settings = {key: view.render(behaviour.get(key, default)) for key, default in BEHAVIOUR_DEFAULTS.items()}
    rest = {k: view.render(v) for k, v in behaviour.items() if k not in BEHAVIOUR_DEFAULTS and k != "TargetOriginId"}
    return {**settings, **rest, "origin": origin_domains.get(behaviour.get("TargetOriginId"), "<no such origin>")}


def distributions(view: View) -> dict[str, dict]:
    """distribution -> its settings (CloudFront's defaults filled in), its origins by domain name
    and its cache behaviours by path pattern ("default" for the default one)."""
    found = {}
    for logical_id, distribution in view.of_type("AWS::CloudFront::Distribution").items():
        config = (distribution.get("Properties") or {}).get("DistributionConfig") or {}
        declared = config.get("Origins") or []
        origin_domains = {o.get("Id"): view.render(o.get("DomainName")) for o in declared}
        origins = {
            json.dumps(view.render(o.get("DomainName"))): {k: view.render(v) for k, v in o.items()
                                                           if k not in ("Id", "DomainName")}
            for o in declared
        }
        behaviours = {"default": _behaviour(view, config.get("DefaultCacheBehavior") or {}, origin_domains)}
        for behaviour in config.get("CacheBehaviors") or []:
            behaviours[behaviour.get("PathPattern")] = _behaviour(
                view, {k: v for k, v in behaviour.items() if k != "PathPattern"}, origin_domains)
        settings = {key: view.render(config.get(key, default)) for key, default in DISTRIBUTION_DEFAULTS.items()}
        rest = {k: view.render(v) for k, v in config.items()
                if k not in DISTRIBUTION_DEFAULTS and k not in ("Origins", "DefaultCacheBehavior", "CacheBehaviors")}
        found[view.role(logical_id)] = {**settings, **rest, "origins": origins, "behaviours": behaviours}
    return found


def cloudfront_policies(view: View) -> dict[str, Any]:
    """Origin access controls and response headers policies, as written (role placeholders)."""
    return {
        view.role(logical_id): view.render(resource.get("Properties") or {})
        for logical_id, resource in view.of_type(
            "AWS::CloudFront::OriginAccessControl", "AWS::CloudFront::ResponseHeadersPolicy").items()
    }


def _dimensions(view: View, dimensions: Any) -> dict:
    return {d.get("Name"): view.render(d.get("Value")) for d in as_list(dimensions)}


def _alarm_metrics(view: View, metrics: Any) -> list[dict]:
    """A metric-math alarm's metrics by id; the expression it returns is "<result>" (CDK names
    it expr_1, template.yaml as its author chose: only the metrics' ids are referred to)."""
    found = []
    for metric in as_list(metrics):
        stat = metric.get("MetricStat") or {}
        inner = stat.get("Metric") or {}
        returned = metric.get("ReturnData", True)
        found.append({
            "id": "<result>" if returned and "Expression" in metric else metric.get("Id"),
            "expression": metric.get("Expression"),
            "label": metric.get("Label"),
            "return data": returned,
            "period": metric.get("Period"),
            "metric": {
                "namespace": inner.get("Namespace"), "name": inner.get("MetricName"),
                "dimensions": _dimensions(view, inner.get("Dimensions")),
                "period": stat.get("Period"), "stat": stat.get("Stat"), "unit": stat.get("Unit"),
            } if stat else None,
        })
    return sorted(found, key=lambda m: str(m["id"]))


def alarms(view: View) -> dict[str, dict]:
    """alarm (by name) -> what it watches and how: a metric or metric math, statistic, period,
    threshold, comparison, missing data and actions (CloudWatch's defaults filled in)."""
    found = {}
    for logical_id, alarm in view.of_type("AWS::CloudWatch::Alarm").items():
        properties = alarm.get("Properties") or {}
        settings = {key: view.render(properties.get(key, default)) for key, default in ALARM_DEFAULTS.items()}
        settings["DatapointsToAlarm"] = properties.get("DatapointsToAlarm", properties.get("EvaluationPeriods"))
        found[view.role(logical_id)] = {
            **settings,
            "description": properties.get("AlarmDescription"),
            "namespace": properties.get("Namespace"),
            "metric": properties.get("MetricName"),
            "dimensions": _dimensions(view, properties.get("Dimensions")),
            "period": properties.get("Period"),
            "metrics": _alarm_metrics(view, properties.get("Metrics")),
            "evaluation periods": properties.get("EvaluationPeriods"),
            "threshold": view.render(properties.get("Threshold")),
            "comparison": properties.get("ComparisonOperator"),
        }
    return found


def topics(view: View) -> dict[str, Any]:
    """topic -> its properties, its policy's statements, its subscriptions (with their condition)."""
    found: dict[str, Any] = {}
    empty = lambda: {"properties": None, "policy": [], "subscriptions": []}  # noqa: E731
    for logical_id, topic in view.of_type("AWS::SNS::Topic").items():
        found[view.role(logical_id)] = {**empty(), "properties": view.render(topic.get("Properties") or {})}
    for policy in view.of_type("AWS::SNS::TopicPolicy").values():
        for topic in policy["Properties"].get("Topics", []):
            entry = found.setdefault(view.role(target_id(topic) or str(topic)), empty())
            entry["policy"] = sorted(entry["policy"] + _statements(view, policy["Properties"].get("PolicyDocument")),
                                     key=lambda s: json.dumps(s, sort_keys=True))
    conditions = view.template.get("Conditions") or {}
    for subscription in view.of_type("AWS::SNS::Subscription").values():
        properties = subscription.get("Properties") or {}
        entry = found.setdefault(view.role(target_id(properties.get("TopicArn")) or "?"), empty())
        condition = subscription.get("Condition")
        entry["subscriptions"].append({
            "properties": view.render({k: v for k, v in properties.items() if k != "TopicArn"}),
            "condition": view.render(conditions.get(condition)) if condition else None,
        })
    return found


def keys(view: View) -> dict[str, dict]:
    return {
        view.role(logical_id): {
            "properties": view.render({k: v for k, v in (key.get("Properties") or {}).items() if k != "KeyPolicy"}),
            "key policy": sorted(_statements(view, (key.get("Properties") or {}).get("KeyPolicy")),
                                 key=lambda s: json.dumps(s, sort_keys=True)),
            "deletion policy": key.get("DeletionPolicy", "Delete"),
            "update replace policy": key.get("UpdateReplacePolicy", "Delete"),
        }
        for logical_id, key in view.of_type("AWS::KMS::Key").items()
    }


def dashboards(view: View) -> dict[str, Any]:
    """dashboard -> its body, parsed (role placeholders where it names a resource)."""
    found = {}
    for logical_id, dashboard in view.of_type("AWS::CloudWatch::Dashboard").items():
        body = view.render((dashboard.get("Properties") or {}).get("DashboardBody"))
        try:
            found[view.role(logical_id)] = json.loads(body) if isinstance(body, str) else body
        except ValueError as error:
            found[view.role(logical_id)] = f"<not JSON: {error}>"
    return found


def parameters(view: View) -> dict[str, dict]:
    def text(value):
        return None if value is None else str(value)

    return {
        name: {
            "Type": parameter.get("Type"),
            "Description": parameter.get("Description"),
            "Default": text(parameter.get("Default")),
            "AllowedPattern": parameter.get("AllowedPattern"),
            "AllowedValues": [str(v) for v in parameter["AllowedValues"]] if "AllowedValues" in parameter else None,
            "ConstraintDescription": parameter.get("ConstraintDescription"),
            "MinLength": text(parameter.get("MinLength")),
            "MaxLength": text(parameter.get("MaxLength")),
            "MinValue": text(parameter.get("MinValue")),
            "MaxValue": text(parameter.get("MaxValue")),
            "NoEcho": str(parameter.get("NoEcho", False)).lower(),
        }
        for name, parameter in view.parameters.items()
        if not (view.side == "cdk" and name in CDK_PARAMETERS) and not (view.side == "sam" and name in BUILD_CHOICES)
    }


def parameter_rules(view: View) -> dict[str, Any]:
    return {
        name: view.render(rule)
        for name, rule in (view.template.get("Rules") or {}).items()
        if not (view.side == "cdk" and name in CDK_RULES)
    }


def outputs(view: View) -> dict[str, dict]:
    return {
        name: {
            "value": view.render(output.get("Value")),
            "description": output.get("Description"),
            "export": view.render((output.get("Export") or {}).get("Name")),
        }
        for name, output in (view.template.get("Outputs") or {}).items()
    }


def stack(view: View) -> dict[str, Any]:
    return {"description": view.template.get("Description")}


ASPECTS = {
    "stack": stack,
    "resources": resource_kinds,
    "routes": routes,
    "authorizers": authorizers,
    "API stage": api_stages,
    "functions": functions,
    "environment values": environment_values,
    "triggers": triggers,
    "EventBridge rules": event_rules,
    "event buses": event_buses,
    "queues": queues,
    "queue policies": queue_policies,
    "tables": tables,
    "log groups": log_groups,
    "IAM": iam,
    "buckets": buckets,
    "bucket policies": bucket_policies,
    "distributions": distributions,
    "CloudFront policies": cloudfront_policies,
    "schedules": schedules,
    "alarms": alarms,
    "topics": topics,
    "keys": keys,
    "dashboards": dashboards,
    "parameters": parameters,
    "parameter rules": parameter_rules,
    "outputs": outputs,
}


def model(template: dict, side: str) -> dict[str, Any]:
    view = View(template, side)
    return {aspect: extract(view) for aspect, extract in ASPECTS.items()}


def compare(aspect: str, sam: Any, cdk: Any) -> list[str]:
    """What differs, one line per key: 'aspect: key: template.yaml … | CDK …'."""
    if sam == cdk:
        return []
    if not (isinstance(sam, dict) and isinstance(cdk, dict)):
        return [f"{aspect}: template.yaml {json.dumps(sam, sort_keys=True)} | CDK {json.dumps(cdk, sort_keys=True)}"]
    lines = []
    for key in sorted(set(sam) | set(cdk), key=str):
        if key not in cdk:
            lines.append(f"{aspect}: {key}: only in template.yaml: {json.dumps(sam[key], sort_keys=True)}")
        elif key not in sam:
            lines.append(f"{aspect}: {key}: only in the CDK app: {json.dumps(cdk[key], sort_keys=True)}")
        elif sam[key] != cdk[key]:
            if isinstance(sam[key], dict) and isinstance(cdk[key], dict):
                lines += compare(f"{aspect}: {key}", sam[key], cdk[key])
            elif isinstance(sam[key], list) and isinstance(cdk[key], list):
                only_sam = [x for x in sam[key] if x not in cdk[key]]
                only_cdk = [x for x in cdk[key] if x not in sam[key]]
                lines.append(f"{aspect}: {key}: only in template.yaml {json.dumps(only_sam, sort_keys=True)}, "
                             f"only in the CDK app {json.dumps(only_cdk, sort_keys=True)}")
            else:
                lines.append(f"{aspect}: {key}: template.yaml {json.dumps(sam[key], sort_keys=True)} | "
                             f"CDK {json.dumps(cdk[key], sort_keys=True)}")
    return lines


def differences(sam_template: dict, cdk_template: dict) -> list[str]:
    sam, cdk = model(sam_template, "sam"), model(cdk_template, "cdk")
    return [line for aspect in ASPECTS for line in compare(aspect, sam[aspect], cdk[aspect])]


# --- The comparison -------------------------------------------------------------------------------


@pytest.mark.parametrize("aspect", list(ASPECTS))
def test_the_cdk_app_matches_template_yaml(aspect, sam_template, cdk_template):
    sam, cdk = ASPECTS[aspect](View(sam_template, "sam")), ASPECTS[aspect](View(cdk_template, "cdk"))
    lines = compare(aspect, sam, cdk)
    assert not lines, (
        "the CDK app (infra/cdk) and template.yaml differ; change both together, then run "
        f"`npm run --prefix infra/cdk check`:\n" + "\n".join(lines)
    )


def test_every_aspect_compares_something(sam_template):
    """A comparison of two empty models would pass whatever the templates say."""
    sam = model(sam_template, "sam")
    core = ["resources", "routes", "authorizers", "API stage", "functions", "triggers", "queues", "tables", "IAM",
            "buckets", "bucket policies", "distributions", "CloudFront policies", "parameters", "outputs",
            "alarms", "topics", "keys", "dashboards"]
    empty = [aspect for aspect in core if not sam[aspect]]
    assert not empty, f"nothing read from template.yaml for: {empty}"
    assert len(sam["routes"]) >= 10 and len(sam["functions"]) >= 8 and len(sam["queues"]) >= 6
    assert all(sam["IAM"][binary] for binary in sam["functions"]), "a function without own permissions"
    assert len(sam["alarms"]) >= 40 and sam["schedules"]["review-age"], "the monitoring was not read"


def test_every_resource_has_a_role_on_both_sides(sam_template, cdk_template):
    """Resources named by logical id (no role found) could only match by chance."""
    for side, template in (("sam", sam_template), ("cdk", cdk_template)):
        unnamed = [name for name in resource_kinds(View(template, side)) if "not compared" in name]
        assert not unnamed, f"{side}: {unnamed}"


def test_the_cdk_functions_get_what_their_triggers_need_and_nothing_broad(cdk_template):
    """The grants the comparison sets aside are really there, the functions' own permissions
    name exact resources, and the only managed policy is the basic execution role's."""
    view = View(cdk_template, "cdk")
    for function, binary in view.binaries.items():
        statements, managed = role_statements(view, function)
        grants = _grants(view, statements)
        missing = implied_grants(view, function) - grants
        assert not missing, f"{binary}: missing {sorted(missing)}"
        wildcards = [g for g in own_grants(view, function) if "*" in g[1] or "*" in g[2]]
        assert not wildcards, f"{binary}: wildcard in its own permissions: {wildcards}"
        assert managed == [BASIC_EXECUTION_POLICY], f"{binary}: managed policies {managed}"
    routed = {route["function"] for route in routes(view).values()}
    for binary in routed:
        function = next(f for f, b in view.binaries.items() if b == binary)
        permissions = [
            p["Properties"] for p in view.of_type("AWS::Lambda::Permission").values()
            if target_id(p["Properties"].get("FunctionName")) == function
        ]
        assert permissions and all(
            p.get("Principal") == "apigateway.amazonaws.com" and p.get("Action") == "lambda:InvokeFunction"
            and "${HTTP API}" in json.dumps(view.render(p.get("SourceArn")))
            for p in permissions
        ), f"{binary}: API Gateway may not invoke it: {permissions}"


def test_the_synthesized_template_cannot_be_deployed(cdk_template):
    """`npm run synth` puts placeholder code in every function; its rule makes CloudFormation
    refuse the template, so only `npx cdk deploy` (which builds the binaries) deploys."""
    rule = (cdk_template.get("Rules") or {}).get("PlaceholderCodeIsNotDeployable")
    assert rule, "the check's template must carry PlaceholderCodeIsNotDeployable"
    assert rule["Assertions"][0]["Assert"] == {"Fn::Equals": ["placeholder-code", "deployable-code"]}


API_ORIGIN = "${HTTP API}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
CONSOLE_BUCKET = "bucket served by distribution"
REDRIVE_ACTIONS = {"sqs:ReceiveMessage", "sqs:DeleteMessage"}


@pytest.mark.parametrize("side", ["sam", "cdk"])
def test_both_serve_the_console_through_its_access_control_and_ops_from_the_api(side, sam_template, cdk_template):
    """What the comparison holds equal is the console as meant, on each side: the bucket is an
    origin only through the origin access control, /ops/* goes uncached to the API with every
    method, and the bucket admits CloudFront's reads for this distribution only."""
    found = model(sam_template if side == "sam" else cdk_template, side)
    [distribution] = found["distributions"].values()
    bucket_origin = f"${{{CONSOLE_BUCKET}.RegionalDomainName}}"
    assert distribution["origins"][json.dumps(bucket_origin)]["OriginAccessControlId"] == (
        "${origin access control of distribution.Id}")
    assert distribution["behaviours"]["default"]["origin"] == bucket_origin
    ops = distribution["behaviours"]["/ops/*"]
    assert ops["origin"] == API_ORIGIN
    assert json.dumps(API_ORIGIN) in distribution["origins"]
    assert ops["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CachingDisabled
    assert ops["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # AllViewerExceptHostHeader
    assert set(ops["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert distribution["CustomErrorResponses"] == [], "they would rewrite the API's 403 and 404 too"
    [reads] = [s for s in found["bucket policies"][CONSOLE_BUCKET] if s["effect"] == "Allow"]
    assert reads["principal"] == {"Service": ["cloudfront.amazonaws.com"]} and reads["actions"] == ["s3:GetObject"]
    assert reads["condition"] == {"StringEquals": {
        "AWS:SourceArn": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${distribution}"}}
    assert found["CloudFront policies"]["origin access control of distribution"]["OriginAccessControlConfig"][
        "SigningBehavior"] == "always"


@pytest.mark.parametrize("side", ["sam", "cdk"])
def test_both_give_ops_the_same_new_powers(side, sam_template, cdk_template):
    found = model(sam_template if side == "sam" else cdk_template, side)
    grants = {(action, resource) for _, action, resource, _ in found["IAM"]["ops"]}
    assert ("dynamodb:Scan", "${table.Arn}") in grants
    assert ("dynamodb:Query", "${table.Arn}/index/history") in grants
    assert ("events:PutEvents", "${event bus.Arn}") in grants
    watched = {resource for action, resource in grants if action == "sqs:GetQueueAttributes"}
    redriven = {resource for action, resource in grants if action in REDRIVE_ACTIONS}
    assert len(watched) == 6 and redriven == watched
    # Settlements go back to their queue; failed stream batches are read again from the stream.
    assert {resource for action, resource in grants if action == "sqs:SendMessage"} == {
        "${queue feeding settle-queue.Arn}"
    }
    assert {action for action, resource in grants if resource == "${table.StreamArn}"} == {
        "dynamodb:GetShardIterator", "dynamodb:GetRecords"
    }
    assert {"EVENT_BUS_NAME", "OPS_QUEUES", "SETTLEMENT_QUEUE_URL"} <= set(found["functions"]["ops"]["environment variables"])
    assert found["functions"]["ops"]["timeout"] == 29
    assert {key for key, route in found["routes"].items() if route["function"] == "ops"} == {
        "GET /ops/withdrawals", "POST /ops/withdrawals/{withdrawal_id}/decision", "GET /ops/players",
        "GET /ops/players/{player_id}", "PUT /ops/players/{player_id}/status",
        "GET /ops/players/{player_id}/transactions", "GET /ops/players/{player_id}/bets",
        "GET /ops/players/{player_id}/withdrawals", "POST /ops/audit", "GET /ops/queues",
        "POST /ops/queues/{queue}/redrive",
    }


# --- Self-tests: the comparison sees drift on either side, and only drift --------------------------


def _find(template: dict, resource_type: str, predicate) -> str:
    found = [i for i, r in template["Resources"].items() if r["Type"] == resource_type and predicate(r)]
    assert len(found) == 1, (resource_type, found)
    return found[0]


def _binary_function(template: dict, binary: str) -> str:
    return _find(template, "AWS::Lambda::Function", lambda r: r.get("Metadata", {}).get(BINARY_METADATA) == binary)


def test_self_test_the_unchanged_templates_are_equivalent(sam_template, cdk_template):
    assert differences(sam_template, cdk_template) == []


def test_self_test_a_dropped_route_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    route = _find(mutated, "AWS::ApiGatewayV2::Route",
                  lambda r: r["Properties"]["RouteKey"] == "POST /players/{player_id}/deposits")
    del mutated["Resources"][route]
    lines = differences(sam_template, mutated)
    assert any(line.startswith("routes: POST /players/{player_id}/deposits: only in template.yaml") for line in lines), lines


def test_self_test_a_route_without_its_authorizer_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    route = _find(mutated, "AWS::ApiGatewayV2::Route", lambda r: r["Properties"]["RouteKey"] == "GET /players/{player_id}/wallet")
    mutated["Resources"][route]["Properties"]["AuthorizationType"] = "NONE"
    del mutated["Resources"][route]["Properties"]["AuthorizerId"]
    lines = differences(sam_template, mutated)
    assert 'routes: GET /players/{player_id}/wallet: authorizer: template.yaml "PlayerJwt" | CDK null' in lines, lines


def test_self_test_an_added_iam_action_is_reported(sam_template, cdk_template):
    # In the function's own (inline) policy…
    mutated = copy.deepcopy(cdk_template)
    role = target_id(mutated["Resources"][_binary_function(mutated, "register")]["Properties"]["Role"])
    statement = mutated["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    statement["Action"] = as_list(statement["Action"]) + ["dynamodb:DeleteItem"]
    lines = differences(sam_template, mutated)
    assert any(line.startswith("IAM: register: only in template.yaml []")
               and "dynamodb:DeleteItem" in line for line in lines), lines

    # …and added to its role in another policy, as `addToRolePolicy` would.
    mutated = copy.deepcopy(cdk_template)
    function = _binary_function(mutated, "publisher")
    role = target_id(mutated["Resources"][function]["Properties"]["Role"])
    policy = _find(mutated, "AWS::IAM::Policy", lambda r: {"Ref": role} in r["Properties"]["Roles"])
    mutated["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["BonusQueue", "Arn"]}})
    lines = differences(sam_template, mutated)
    assert any("publisher" in line and "sqs:SendMessage" in line and "${queue feeding bonus-award.Arn}" in line
               for line in lines), lines


def test_self_test_drift_in_template_yaml_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(sam_template)
    mutated["Resources"]["SettleQueueFunction"]["Properties"]["Events"]["Settlements"]["Properties"]["BatchSize"] = 5
    mutated["Resources"]["BonusQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] = 3
    mutated["Resources"]["WalletTable"]["Properties"]["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"] = ["x"]
    mutated["Globals"]["Function"]["Environment"]["Variables"]["NEW_SETTING"] = "x"
    lines = differences(mutated, cdk_template)
    assert any(line.startswith("triggers: settle-queue:") and '"BatchSize": 5' in line for line in lines), lines
    assert "queues: queue feeding bonus-award: maxReceiveCount: template.yaml 3 | CDK 5" in lines, lines
    assert any(line.startswith("tables: table: global secondary indexes:") and '"x"' in line for line in lines), lines
    assert any(line.startswith("functions: register: environment variables: only in template.yaml [\"NEW_SETTING\"]")
               for line in lines), lines


def test_self_test_queue_policy_and_rule_drift_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    policy = _find(mutated, "AWS::SQS::QueuePolicy", lambda r: r["Properties"]["Queues"] == [{"Ref": "SettlementQueue"}]
                   or "SettlementQueue" in json.dumps(r["Properties"]["Queues"]))
    statements = mutated["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Effect"] != "Deny"]
    rule = _find(mutated, "AWS::Events::Rule", lambda r: "DepositCompleted" in json.dumps(r["Properties"]))
    mutated["Resources"][rule]["Properties"]["Targets"][0]["RetryPolicy"]["MaximumRetryAttempts"] = 3
    lines = differences(sam_template, mutated)
    assert any(line.startswith("queue policies: queue feeding settle-queue: only in template.yaml [{")
               and '"effect": "Deny"' in line for line in lines), lines
    assert any(line.startswith("EventBridge rules: rule to queue feeding bonus-award: targets:") for line in lines), lines


def test_self_test_an_extra_resource_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    mutated["Resources"]["Extra"] = {"Type": "AWS::SSM::Parameter", "Properties": {}}
    mutated["Resources"]["ExtraQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    lines = differences(sam_template, mutated)
    assert "resources: Extra (not compared: no role for it): only in the CDK app: \"AWS::SSM::Parameter\"" in lines, lines
    assert any(line.startswith("queues: ExtraQueue: only in the CDK app") for line in lines), lines


def _rename_logical_ids(template: dict, prefix: str) -> dict:
    """The same template with every resource's logical id changed (and every reference to it,
    SAM's implicit `<Function>Role` of a renamed function included)."""
    names = set(template["Resources"]) | {
        f"{logical_id}Role" for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }

    def renamed(value: Any) -> Any:
        if isinstance(value, list):
            return [renamed(item) for item in value]
        if not isinstance(value, dict):
            return value
        found = target_of(value)
        if found and found[0] in names:
            logical_id, attribute = found
            return {"Ref": prefix + logical_id} if "Ref" in value else {"Fn::GetAtt": [prefix + logical_id, attribute]}
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            def sub(match: re.Match) -> str:
                name = match.group(1)
                return "${" + (prefix + name if name in names else name)

            return {"Fn::Sub": re.sub(r"\$\{([^}.!]+)", sub, value["Fn::Sub"])}
        return {key: renamed(item) for key, item in value.items()}

    result = renamed({k: v for k, v in template.items() if k != "Resources"})
    result["Resources"] = {}
    for logical_id, resource in template["Resources"].items():
        resource = renamed(resource)
        if "DependsOn" in resource:
            resource["DependsOn"] = [prefix + d for d in as_list(resource["DependsOn"])]
        result["Resources"][prefix + logical_id] = resource
    return result


def test_self_test_logical_ids_do_not_count(sam_template, cdk_template):
    """Resources are matched by role: renaming every logical id of either side changes nothing."""
    assert differences(sam_template, _rename_logical_ids(cdk_template, "Renamed")) == []
    assert differences(_rename_logical_ids(sam_template, "Other"), cdk_template) == []


def test_self_test_a_missing_synth_says_how_to_make_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match=re.escape("npm run --prefix infra/cdk check")):
        cdk_template_path(tmp_path / "cdk.out")


def test_self_test_console_drift_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    distribution = _find(mutated, "AWS::CloudFront::Distribution", lambda r: True)
    config = mutated["Resources"][distribution]["Properties"]["DistributionConfig"]
    bucket_origin = next(o for o in config["Origins"] if "S3OriginConfig" in o)
    del bucket_origin["OriginAccessControlId"]
    config["CustomErrorResponses"] = [{"ErrorCode": 404, "ResponseCode": 200, "ResponsePagePath": "/index.html"}]
    next(b for b in config["CacheBehaviors"] if b["PathPattern"] == "/ops/*")["CachePolicyId"] = "other"
    policy = _find(mutated, "AWS::S3::BucketPolicy", lambda r: "cloudfront.amazonaws.com" in json.dumps(r))
    statement = next(s for s in mutated["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
                     if s["Effect"] == "Allow")
    statement["Condition"] = {"StringLike": {"AWS:SourceArn": "*"}}
    lines = differences(sam_template, mutated)
    assert any(line.startswith("distributions: distribution: origins:") and "OriginAccessControlId" in line
               for line in lines), lines
    assert any(line.startswith("distributions: distribution: CustomErrorResponses:") for line in lines), lines
    assert any(line.startswith("distributions: distribution: behaviours: /ops/*: CachePolicyId:") for line in lines), lines
    assert any(line.startswith(f"bucket policies: {CONSOLE_BUCKET}: only in template.yaml") for line in lines), lines


def test_self_test_ops_power_drift_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    function = _binary_function(mutated, "ops")
    role = target_id(mutated["Resources"][function]["Properties"]["Role"])
    statements = mutated["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements.append({"Effect": "Allow", "Action": "sqs:PurgeQueue",
                       "Resource": {"Fn::GetAtt": ["SettlementDeadLetterQueue", "Arn"]}})
    del mutated["Resources"][function]["Properties"]["Environment"]["Variables"]["OPS_QUEUES"]
    lines = differences(sam_template, mutated)
    assert any(line.startswith("IAM: ops:") and "sqs:PurgeQueue" in line
               and "dead letters of queue feeding settle-queue" in line for line in lines), lines
    assert any(line.startswith('functions: ops: environment variables: only in template.yaml ["OPS_QUEUES"]')
               for line in lines), lines


def test_self_test_monitoring_drift_is_reported(sam_template, cdk_template):
    mutated = copy.deepcopy(cdk_template)
    refused = _find(mutated, "AWS::CloudWatch::Alarm", lambda r: "payouts-refused" in json.dumps(r["Properties"]["AlarmName"]))
    mutated["Resources"][refused]["Properties"]["Threshold"] = 5
    depth = _find(mutated, "AWS::CloudWatch::Alarm",
                  lambda r: "PayoutDeadLetterQueue-depth" in json.dumps(r["Properties"]["AlarmName"]))
    mutated["Resources"][depth]["Properties"]["Dimensions"][0]["Value"] = {"Fn::GetAtt": ["PayoutQueue", "QueueName"]}
    del mutated["Resources"][depth]["Properties"]["OKActions"]
    rate = _find(mutated, "AWS::CloudWatch::Alarm", lambda r: "api-5xx-rate" in json.dumps(r["Properties"]["AlarmName"]))
    for metric in mutated["Resources"][rate]["Properties"]["Metrics"]:
        if metric.get("Id") == "requests":
            metric["MetricStat"]["Metric"]["MetricName"] = "4xx"
    lines = differences(sam_template, mutated)
    assert "alarms: alarm ${AWS::StackName}-payouts-refused: threshold: template.yaml 0 | CDK 5" in lines, lines
    assert any(line.startswith("alarms: alarm ${AWS::StackName}-PayoutDeadLetterQueue-depth: dimensions:")
               and "queue feeding payout" in line for line in lines), lines
    assert any(line.startswith("alarms: alarm ${AWS::StackName}-PayoutDeadLetterQueue-depth: OKActions:")
               for line in lines), lines
    assert any(line.startswith("alarms: alarm ${AWS::StackName}-api-5xx-rate: metrics:") and '"4xx"' in line
               for line in lines), lines

    mutated = copy.deepcopy(sam_template)
    dashboard = mutated["Resources"]["MoneyFlowDashboard"]["Properties"]["DashboardBody"]
    dashboard["Fn::Sub"] = dashboard["Fn::Sub"].replace('"WithdrawalPaid"', '"WithdrawalFailed"')
    mutated["Globals"]["Function"]["LoggingConfig"]["LogFormat"] = "Text"
    mutated["Resources"]["ReviewAgeFunction"]["Properties"]["Events"]["EveryFiveMinutes"]["Properties"]["Schedule"] = (
        "rate(1 hour)")
    mutated["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    lines = differences(mutated, cdk_template)
    assert any(line.startswith("dashboards: dashboard ${AWS::StackName}-money-flow: widgets:") for line in lines), lines
    assert any(line.startswith("functions: register: log format: template.yaml \"Text\" | CDK \"JSON\"") for line in lines), lines
    assert any(line.startswith("schedules: review-age:") and "rate(1 hour)" in line for line in lines), lines
    assert any(line.startswith("topics: topic of alarms: properties:") for line in lines), lines


def test_the_architecture_parameter_is_the_cdk_apps_context_choice(sam_template, cdk_template):
    """template.yaml takes the functions' instruction set as the Architecture parameter; the CDK
    app as the context value `architecture`, with the same choices and the same default (the
    offline check synthesizes with the default)."""
    parameter = sam_template["Parameters"]["Architecture"]
    assert parameter["Default"] == "arm64" and sorted(parameter["AllowedValues"]) == ["arm64", "x86_64"]
    assert sam_template["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    app = (CDK_APP / "bin" / "stakeline.ts").read_text(encoding="utf-8")
    choices = re.search(r"const ARCHITECTURES: Record<string, Architecture> = \{(.*?)\};", app, re.S)
    assert choices, "bin/stakeline.ts maps the context value `architecture` in ARCHITECTURES"
    assert sorted(re.findall(r"(\w+): Architecture\.", choices.group(1))) == sorted(parameter["AllowedValues"])
    assert f"tryGetContext('{BUILD_CHOICES['Architecture']}') ?? '{parameter['Default']}'" in app
    view = View(cdk_template, "cdk")
    assert {json.dumps(view.props(f).get("Architectures")) for f in view.binaries} == {json.dumps([parameter["Default"]])}
    assert "Architecture" not in cdk_template["Parameters"]


def test_every_cdk_function_logs_json_and_is_traced(cdk_template):
    """What the functions aspect compares with template.yaml, said outright for the CDK app."""
    view = View(cdk_template, "cdk")
    assert len(view.binaries) == 12
    for function, binary in view.binaries.items():
        properties = view.props(function)
        logging = properties["LoggingConfig"]
        assert (logging["LogFormat"], logging["ApplicationLogLevel"], logging["SystemLogLevel"]) == (
            "JSON", "TRACE", "WARN"), binary
        assert view.role(target_id(logging["LogGroup"])) == f"log group of {binary}"
        assert properties["TracingConfig"] == {"Mode": "Active"}, binary
