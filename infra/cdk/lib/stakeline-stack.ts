// Stakeline's wallet as a CDK stack: the same architecture as the SAM template (template.yaml at
// the repository root), resource for resource. tests/infra/test_cdk_equivalence.py compares the
// synthesized template with template.yaml; change both together.
import * as path from 'node:path';

import {
  Aws,
  CfnOutput,
  CfnCondition,
  CfnParameter,
  CfnResource,
  CfnRule,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct, IConstruct } from 'constructs';

import { addMonitoring } from './monitoring';
import { acknowledgeNagFindings } from './nag';

export interface StakelineStackProps extends StackProps {
  /** The Cargo workspace whose binaries the functions run (the repository root). */
  readonly workspaceRoot: string;
  /**
   * Synthesize every function with the placeholder asset of infra/cdk/placeholder instead of a
   * RustFunction (which probes for `cargo lambda` as soon as it is constructed, and builds the
   * binary when bundling). For the offline check only: the template then carries the rule
   * PlaceholderCodeIsNotDeployable, so CloudFormation refuses to deploy it.
   */
  readonly placeholderCode?: boolean;
  /**
   * The instruction set of every function (template.yaml's Architecture parameter; here the
   * context value `architecture`, arm64 by default): x86_64 where the build machine cannot
   * build for arm64.
   */
  readonly architecture?: lambda.Architecture;
  /**
   * Build every function with the `edge/otel` Cargo feature: OpenTelemetry spans exported over
   * OTLP (the context value `otel`; off by default). Changes the binaries only, not the template.
   */
  readonly otel?: boolean;
}

/** Metadata key naming each function's Cargo binary in the synthesized template. */
export const BINARY_METADATA_KEY = 'stakeline:binary';

const PLACEHOLDER_DIR = path.resolve(__dirname, '..', '..', 'placeholder');
const FOURTEEN_DAYS = Duration.days(14); // 1209600 s, SQS's maximum retention
const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS; // 90 days

// The access log line, exactly as template.yaml's folded `Format` reads once joined.
const ACCESS_LOG_FORMAT =
  '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status", ' +
  '"ip":"$context.identity.sourceIp","latencyMs":"$context.responseLatency", ' +
  '"integrationStatus":"$context.integrationStatus","error":"$context.error.message", ' +
  '"authorizerError":"$context.authorizer.error"}';

// The publisher sees only writes that carry events (marked `publish` = "events"); everything
// else on the stream is dropped unbilled.
const OUTBOX_FILTER = '{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"publish":{"S":["events"]}}}}';

const SECRET_ARN_PATTERN =
  '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$';
const SECRET_ARN_CONSTRAINT =
  'must be the full ARN of one Secrets Manager secret, ' +
  'arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>';

const DEFAULT_BONUS_CAMPAIGNS =
  '[{"campaign_id":"first-deposit-match","trigger":"first_deposit","match_percent":100,' +
  '"cap":{"EUR":10000,"GBP":10000,"USD":10000},"wagering_multiplier":10,' +
  '"max_stake":{"EUR":500,"GBP":500,"USD":500},"expiry_days":30}]';

const DEFAULT_RISK_RULES =
  '{"turnover":{"min_turnover":1},"large_amount":{"EUR":100000,"GBP":100000,"USD":100000},' +
  '"velocity":{"max_per_24h":3},"new_account":{"min_age_hours":24},"shared_destination":{"enabled":true}}';

// The console's Content-Security-Policy: the built app's own scripts and styles only (no inline
// code), calling its own origin (/ops/*) and the operator's identity provider (https:).
const CONSOLE_CSP =
  "default-src 'self'; connect-src 'self' https:; img-src 'self' data:; style-src 'self'; " +
  "script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self' https:";

interface Route {
  readonly method: apigwv2.HttpMethod;
  readonly path: string;
  /** false: called by an integration that signs its requests (the function checks the HMAC). */
  readonly playerJwt: boolean;
  /** An operator route: the operator authorizer with the `stakeline/ops` scope. */
  readonly operator?: boolean;
}

/** The scope the operator routes require (template.yaml's AuthorizationScopes). */
const OPERATOR_SCOPE = 'stakeline/ops';

interface WalletFunctionSpec {
  /** Logical id, as in template.yaml (e.g. RegisterFunction); its role is `<id>Role`. */
  readonly id: string;
  /** Logical id of its log group in template.yaml (e.g. RegisterLogGroup). */
  readonly logGroupId: string;
  /** The Cargo binary (template.yaml's Metadata.BuildProperties.Binary). */
  readonly binary: string;
  readonly description: string;
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
  /** The function's own policy: template.yaml's `Policies` of the function. */
  readonly statements: iam.PolicyStatement[];
  readonly routes?: Route[];
  /** An EventBridge schedule on the default bus (template.yaml's `Schedule` event). */
  readonly schedule?: { readonly id: string; readonly expression: events.Schedule; readonly description: string };
}

/** Gives the CloudFormation resource behind an L2 construct the logical id template.yaml uses. */
function pin<T extends IConstruct>(construct: T, logicalId: string): T {
  (construct.node.defaultChild as CfnResource).overrideLogicalId(logicalId);
  return construct;
}

function allow(actions: string[], resources: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ effect: iam.Effect.ALLOW, actions, resources });
}

export class StakelineStack extends Stack {
  constructor(scope: Construct, id: string, props: StakelineStackProps) {
    super(scope, id, props);
    const placeholderCode = props.placeholderCode ?? false;

    // --- Parameters (the same as template.yaml's) --------------------------------------------

    const jwtIssuer = new CfnParameter(this, 'JwtIssuer', {
      type: 'String',
      description: 'Issuer (iss) of player tokens, e.g. https://cognito-idp.<region>.amazonaws.com/<pool-id>.',
      minLength: 1,
    });
    const jwtAudience = new CfnParameter(this, 'JwtAudience', {
      type: 'String',
      description: 'Audience (aud) the player tokens must carry (a Cognito app client id, or an OIDC audience).',
      minLength: 1,
    });
    const operatorJwtIssuer = new CfnParameter(this, 'OperatorJwtIssuer', {
      type: 'String',
      description:
        "Issuer (iss) of the operator staff's tokens, when staff sign in with another identity " +
        "provider than players; empty: the players' JwtIssuer. The /ops routes also require the " +
        'stakeline/ops scope in the token.',
      default: '',
    });
    const operatorJwtAudience = new CfnParameter(this, 'OperatorJwtAudience', {
      type: 'String',
      description: "Audience (aud) the operator staff's tokens must carry; empty: the players' JwtAudience.",
      default: '',
    });
    const hasOperatorIssuer = new CfnCondition(this, 'HasOperatorIssuer', {
      expression: Fn.conditionNot(Fn.conditionEquals(operatorJwtIssuer.valueAsString, '')),
    });
    const hasOperatorAudience = new CfnCondition(this, 'HasOperatorAudience', {
      expression: Fn.conditionNot(Fn.conditionEquals(operatorJwtAudience.valueAsString, '')),
    });
    const paymentProviderSecretArn = new CfnParameter(this, 'PaymentProviderSecretArn', {
      type: 'String',
      description:
        'Full ARN (with its six-character suffix) of the Secrets Manager secret whose SecretString ' +
        'is the comma-separated list of payment-provider HMAC secrets the deposit function accepts ' +
        '(more than one while rotating). Read by the function at run time, never put in its environment.',
      allowedPattern: SECRET_ARN_PATTERN,
      constraintDescription: SECRET_ARN_CONSTRAINT,
    });
    const aggregatorSecretArn = new CfnParameter(this, 'AggregatorSecretArn', {
      type: 'String',
      description:
        'Full ARN (with its six-character suffix) of the Secrets Manager secret whose SecretString ' +
        'is the comma-separated list of game-aggregator HMAC secrets that place-bet, settle, ' +
        'settle-queue and wallet-read accept (more than one while rotating). Must not be the ' +
        "payment provider's secret.",
      allowedPattern: SECRET_ARN_PATTERN,
      constraintDescription: SECRET_ARN_CONSTRAINT,
    });
    const settlementSenderArn = new CfnParameter(this, 'SettlementSenderArn', {
      type: 'String',
      description:
        "IAM role or user ARN of the game aggregator's integration: the only principal the " +
        "settlement queue's policy allows to send messages (every other principal is denied, so an " +
        'account root ARN would leave only the root user able to send: it is not accepted).',
      allowedPattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9/_+=,.@-]+$',
    });
    const bonusCampaigns = new CfnParameter(this, 'BonusCampaigns', {
      type: 'String',
      description:
        'The bonus campaigns bonus-award applies, as one line of JSON: a list of campaigns, each with ' +
        'campaign_id, trigger, match_percent, cap and max_stake (minor units per currency), ' +
        'wagering_multiplier and expiry_days. The default is the first-deposit match.',
      minLength: 2,
      default: DEFAULT_BONUS_CAMPAIGNS,
    });
    const payoutApiUrl = new CfnParameter(this, 'PayoutApiUrl', {
      type: 'String',
      description:
        "Base URL of the payment provider's payout API (https://…, no trailing slash). The payout " +
        'function POSTs each approved withdrawal to <PayoutApiUrl>/payouts, signed with the payment ' +
        "provider's secret (the first of PaymentProviderSecretArn's list) and with " +
        'Idempotency-Key: <withdrawal_id>.',
      allowedPattern: '^https://[^\\s/?#]+(/[^\\s?#]*[^\\s?#/])?$',
      constraintDescription: 'must be an https:// URL without a trailing slash, query or fragment',
    });
    const riskRules = new CfnParameter(this, 'RiskRules', {
      type: 'String',
      description:
        'The withdrawal risk rules withdraw applies to every request, as one line of JSON (each rule ' +
        'that fires sends the withdrawal to review): turnover (min_turnover), large_amount (minor ' +
        'units per currency), velocity (max_per_24h), new_account (min_age_hours) and ' +
        'shared_destination (enabled). A rule left out does not run; the function refuses to start ' +
        'on invalid rules.',
      minLength: 2,
      default: DEFAULT_RISK_RULES,
    });
    const apiThrottlingBurstLimit = new CfnParameter(this, 'ApiThrottlingBurstLimit', {
      type: 'Number',
      description:
        'Requests the HTTP API accepts in a burst on each route (ThrottlingBurstLimit of its default ' +
        'route settings) before answering 429.',
      default: 200,
      minValue: 1,
    });
    const apiThrottlingRateLimit = new CfnParameter(this, 'ApiThrottlingRateLimit', {
      type: 'Number',
      description:
        'Steady requests per second the HTTP API accepts on each route (ThrottlingRateLimit of its ' +
        'default route settings) before answering 429.',
      default: 100,
      minValue: 1,
    });
    const logLevel = new CfnParameter(this, 'LogLevel', {
      type: 'String',
      description:
        'RUST_LOG filter for every function. The SDK and Lambda runtime crates stay at info whatever ' +
        'this says (below info they log whole requests and events).',
      default: 'info',
      allowedValues: ['error', 'warn', 'info', 'debug'],
    });
    const alarmEmail = new CfnParameter(this, 'AlarmEmail', {
      type: 'String',
      description:
        'Email address subscribed to AlarmTopic, where every alarm of the stack sends its ALARM and ' +
        'OK notifications (SNS mails a confirmation link first); empty: no subscription (subscribe ' +
        'a pager or chat integration to the topic instead).',
      default: '',
      allowedPattern: '^$|^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
      constraintDescription: 'must be empty or one email address',
    });
    const reviewAgeAlarmSeconds = new CfnParameter(this, 'ReviewAgeAlarmSeconds', {
      type: 'Number',
      description:
        'How long the oldest withdrawal in review (status pending_review) may wait before ' +
        'ReviewQueueAgeAlarm fires, in seconds (default 4 hours).',
      default: 14400,
      minValue: 300,
    });
    const conditionalCheckFailuresAlarmThreshold = new CfnParameter(this, 'ConditionalCheckFailuresAlarmThreshold', {
      type: 'Number',
      description:
        'Conditional check failures on the wallet table in 5 minutes (AWS/DynamoDB ' +
        'ConditionalCheckFailedRequests) above which TableConditionalCheckFailuresAlarm fires.',
      default: 100,
      minValue: 1,
    });
    const hasAlarmEmail = new CfnCondition(this, 'HasAlarmEmail', {
      expression: Fn.conditionNot(Fn.conditionEquals(alarmEmail.valueAsString, '')),
    });

    // One secret can never serve both integrations.
    new CfnRule(this, 'SeparateIntegrationSecrets', {
      assertions: [
        {
          assert: Fn.conditionNot(
            Fn.conditionEquals(paymentProviderSecretArn.valueAsString, aggregatorSecretArn.valueAsString),
          ),
          assertDescription:
            'PaymentProviderSecretArn and AggregatorSecretArn must name two different secrets: one ' +
            'secret may never sign for both the payment provider and the game aggregator.',
        },
      ],
    });
    if (placeholderCode) {
      new CfnRule(this, 'PlaceholderCodeIsNotDeployable', {
        assertions: [
          {
            assert: Fn.conditionEquals('placeholder-code', 'deployable-code'),
            assertDescription:
              'This template was synthesized with placeholder function code (npm run synth, for checks). ' +
              'Deploy with npx cdk deploy, which builds the Rust binaries.',
          },
        ],
      });
    }

    // --- The wallet table ----------------------------------------------------------------------

    // Player money lives here: never lose it to a stack deletion or a replacing update.
    const table = pin(
      new dynamodb.Table(this, 'WalletTable', {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        // The stream carries each change's events (on its wallet or id record) to the publisher.
        stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: RemovalPolicy.RETAIN,
      }),
      'WalletTable',
    );
    // The ledger: items that record entries, by player and first sequence (see template.yaml).
    table.addGlobalSecondaryIndex({
      indexName: 'history',
      partitionKey: { name: 'hpk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'hsk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: ['entries'],
    });
    // The operators' views of withdrawals: by status (the review queue, oldest first) and by
    // player, on the attributes an accepted withdrawal's record carries (see template.yaml).
    const withdrawalAttributes = ['withdrawal_id', 'player_id', 'version', 'payload', 'recorded'];
    table.addGlobalSecondaryIndex({
      indexName: 'withdrawals-by-status',
      partitionKey: { name: 'wstatus', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'wsk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: withdrawalAttributes,
    });
    table.addGlobalSecondaryIndex({
      indexName: 'withdrawals-by-player',
      partitionKey: { name: 'wpk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'wsk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: withdrawalAttributes,
    });

    // --- Queues, the event bus and the rule ---------------------------------------------------

    const queue = (logicalId: string, props: sqs.QueueProps = {}) =>
      pin(
        new sqs.Queue(this, logicalId, {
          retentionPeriod: FOURTEEN_DAYS,
          encryption: sqs.QueueEncryption.SQS_MANAGED,
          ...props,
        }),
        logicalId,
      );

    // Settlements that failed 5 times: kept 14 days for an operator to inspect and redrive.
    const settlementDeadLetterQueue = queue('SettlementDeadLetterQueue');
    const settlementQueue = queue('SettlementQueue', {
      // At least 6x settle-queue's timeout (30 s) plus its batching window (1 s).
      visibilityTimeout: Duration.seconds(190),
      deadLetterQueue: { queue: settlementDeadLetterQueue, maxReceiveCount: 5 },
    });
    // Stream batches the publisher could not publish after all its retries.
    const outboxFailureQueue = queue('OutboxFailureQueue');
    const bonusDeadLetterQueue = queue('BonusDeadLetterQueue');
    // Message bodies are EventBridge envelopes.
    const bonusQueue = queue('BonusQueue', {
      // At least 6x bonus-award's timeout (30 s) plus its batching window (1 s).
      visibilityTimeout: Duration.seconds(190),
      deadLetterQueue: { queue: bonusDeadLetterQueue, maxReceiveCount: 5 },
    });
    // Events the rule could not deliver to BonusQueue within its retry policy.
    const bonusRuleDeadLetterQueue = queue('BonusRuleDeadLetterQueue');
    // Approved withdrawals the payment provider did not take after 5 deliveries.
    const payoutDeadLetterQueue = queue('PayoutDeadLetterQueue');
    // Message bodies are EventBridge envelopes of WithdrawalApproved.
    const payoutQueue = queue('PayoutQueue', {
      // At least 6x payout's timeout (30 s).
      visibilityTimeout: Duration.seconds(180),
      deadLetterQueue: { queue: payoutDeadLetterQueue, maxReceiveCount: 5 },
    });
    // Approvals the rule could not deliver to PayoutQueue within its retry policy.
    const payoutRuleDeadLetterQueue = queue('PayoutRuleDeadLetterQueue');

    const eventBus = pin(
      new events.EventBus(this, 'WalletEventBus', { eventBusName: `${Aws.STACK_NAME}-wallet` }),
      'WalletEventBus',
    );
    const eventBusName = (eventBus.node.defaultChild as events.CfnEventBus).attrName;

    // A player's first deposit triggers the first-deposit match, through BonusQueue.
    const firstDepositBonusRule = pin(
      new events.Rule(this, 'FirstDepositBonusRule', {
        description: 'First deposits to the bonus queue (first-deposit match campaign).',
        eventBus,
        enabled: true,
        eventPattern: {
          source: ['stakeline.wallet'],
          detailType: ['DepositCompleted'],
          detail: { first_deposit: [true] },
        },
      }),
      'FirstDepositBonusRule',
    );
    // A target of our own rather than aws-events-targets' SqsQueue, which would also add its
    // own statements (more actions) to the queues' policies: those are written out below.
    const queueTarget = (rule: events.Rule, id: string, target: sqs.Queue, deadLetters: sqs.Queue) =>
      rule.addTarget({
        bind: () => ({
          id,
          arn: target.queueArn,
          // EventBridge's maxima: retry for up to 24 h / 185 attempts, then the dead-letter queue.
          retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
          deadLetterConfig: { arn: deadLetters.queueArn },
        }),
      });
    queueTarget(firstDepositBonusRule, 'BonusQueue', bonusQueue, bonusRuleDeadLetterQueue);

    // Approved withdrawals (by the risk rules or an operator) to the payout queue.
    const withdrawalApprovedRule = pin(
      new events.Rule(this, 'WithdrawalApprovedRule', {
        description: 'Approved withdrawals to the payout queue.',
        eventBus,
        enabled: true,
        eventPattern: { source: ['stakeline.wallet'], detailType: ['WithdrawalApproved'] },
      }),
      'WithdrawalApprovedRule',
    );
    queueTarget(withdrawalApprovedRule, 'PayoutQueue', payoutQueue, payoutRuleDeadLetterQueue);

    // Only the aggregator's integration principal (and the back office's redrive, below) may
    // send settlements; every other principal is refused, even one whose own IAM policy allows it.
    const settlementQueuePolicy = pin(
      new sqs.QueuePolicy(this, 'SettlementQueuePolicy', { queues: [settlementQueue] }),
      'SettlementQueuePolicy',
    );
    settlementQueuePolicy.document.addStatements(
      new iam.PolicyStatement({
        sid: 'AggregatorSendsSettlements',
        effect: iam.Effect.ALLOW,
        principals: [new iam.ArnPrincipal(settlementSenderArn.valueAsString)],
        actions: ['sqs:SendMessage'],
        resources: [settlementQueue.queueArn],
      }),
    );

    // Only EventBridge, on behalf of a rule, may send to the rule's queue and to its
    // dead-letter queue.
    const onlyTheRuleSends = (logicalId: string, target: sqs.Queue, allowSid: string, rule: events.Rule) => {
      const policy = pin(new sqs.QueuePolicy(this, logicalId, { queues: [target] }), logicalId);
      policy.document.addStatements(
        new iam.PolicyStatement({
          sid: allowSid,
          effect: iam.Effect.ALLOW,
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [target.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
        new iam.PolicyStatement({
          sid: 'OnlyTheRuleSends',
          effect: iam.Effect.DENY,
          principals: [new iam.StarPrincipal()],
          actions: ['sqs:SendMessage'],
          resources: [target.queueArn],
          conditions: { ArnNotEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
    };
    onlyTheRuleSends('BonusQueuePolicy', bonusQueue, 'FirstDepositBonusRuleSends', firstDepositBonusRule);
    onlyTheRuleSends(
      'BonusRuleDeadLetterQueuePolicy',
      bonusRuleDeadLetterQueue,
      'FirstDepositBonusRuleDeadLetters',
      firstDepositBonusRule,
    );
    onlyTheRuleSends('PayoutQueuePolicy', payoutQueue, 'WithdrawalApprovedRuleSends', withdrawalApprovedRule);
    onlyTheRuleSends(
      'PayoutRuleDeadLetterQueuePolicy',
      payoutRuleDeadLetterQueue,
      'WithdrawalApprovedRuleDeadLetters',
      withdrawalApprovedRule,
    );

    // --- The HTTP API -------------------------------------------------------------------------

    const apiAccessLogGroup = pin(
      new logs.LogGroup(this, 'ApiAccessLogGroup', {
        logGroupName: `/aws/http-api/${Aws.STACK_NAME}/access`,
        retention: LOG_RETENTION,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      'ApiAccessLogGroup',
    );
    const playerJwt = new HttpJwtAuthorizer('PlayerJwt', jwtIssuer.valueAsString, {
      authorizerName: 'PlayerJwt',
      jwtAudience: [jwtAudience.valueAsString],
      identitySource: ['$request.header.Authorization'],
    });
    // The operator's staff: the /ops routes also require the stakeline/ops scope.
    const operatorJwt = new HttpJwtAuthorizer(
      'OperatorJwt',
      Fn.conditionIf(hasOperatorIssuer.logicalId, operatorJwtIssuer.valueAsString, jwtIssuer.valueAsString).toString(),
      {
        authorizerName: 'OperatorJwt',
        jwtAudience: [
          Fn.conditionIf(
            hasOperatorAudience.logicalId,
            operatorJwtAudience.valueAsString,
            jwtAudience.valueAsString,
          ).toString(),
        ],
        identitySource: ['$request.header.Authorization'],
      },
    );
    const noAuthorizer = new apigwv2.HttpNoneAuthorizer();
    const api = pin(
      new apigwv2.HttpApi(this, 'WalletHttpApi', {
        apiName: Aws.STACK_NAME,
        description: 'Stakeline wallet API',
        defaultAuthorizer: playerJwt,
        createDefaultStage: false,
      }),
      'WalletHttpApi',
    );
    // Every route is throttled; API Gateway answers 429 beyond these, before any function runs.
    pin(
      new apigwv2.HttpStage(this, 'WalletHttpApiDefaultStage', {
        httpApi: api,
        stageName: '$default',
        autoDeploy: true,
        throttle: {
          burstLimit: apiThrottlingBurstLimit.valueAsNumber,
          rateLimit: apiThrottlingRateLimit.valueAsNumber,
        },
        accessLogSettings: {
          destination: new apigwv2.LogGroupLogDestination(apiAccessLogGroup),
          format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
        },
      }),
      'WalletHttpApiApiGatewayDefaultStage',
    );

    // --- Functions -----------------------------------------------------------------------------

    const tableReadWrite = () =>
      allow(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'], [table.tableArn]);
    // Each integration's signing secrets: on exactly that one secret.
    const readSecret = (secretArn: CfnParameter) =>
      allow(['secretsmanager:GetSecretValue'], [secretArn.valueAsString]);

    // Every function by its binary, in the order of template.yaml (the alarms and the dashboard).
    const functionsByBinary = new Map<string, lambda.IFunction>();
    const walletFunction = (spec: WalletFunctionSpec): lambda.Function => {
      const role = pin(
        new iam.Role(this, `${spec.id}Role`, {
          assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
          managedPolicies: [
            iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
          ],
          inlinePolicies: {
            [`${spec.id}RolePolicy0`]: new iam.PolicyDocument({ statements: spec.statements }),
          },
        }),
        `${spec.id}Role`,
      );
      const logGroup = pin(
        new logs.LogGroup(this, spec.logGroupId, {
          logGroupName: `/aws/lambda/${Aws.STACK_NAME}/${spec.binary}`,
          retention: LOG_RETENTION,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        spec.logGroupId,
      );
      const options: lambda.FunctionOptions = {
        description: spec.description,
        role,
        architecture: props.architecture ?? lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout: spec.timeout ?? Duration.seconds(10),
        // X-Ray: CDK grants the role xray:PutTraceSegments and xray:PutTelemetryRecords.
        tracing: lambda.Tracing.ACTIVE,
        logGroup,
        // JSON lines kept as they are; no level filter of Lambda's on them (they carry no
        // timestamp, so Lambda would take each for INFO): RUST_LOG filters. Lambda's own
        // lines: warnings only (see template.yaml's Globals).
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: lambda.ApplicationLogLevel.TRACE,
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        environment: {
          TABLE_NAME: table.tableName,
          PLAYER_AUTH: 'apigateway',
          RUST_LOG: logLevel.valueAsString,
          ...spec.environment,
        },
      };
      const fn = placeholderCode
        ? new lambda.Function(this, spec.id, {
            ...options,
            runtime: lambda.Runtime.PROVIDED_AL2023,
            handler: 'bootstrap',
            code: lambda.Code.fromAsset(PLACEHOLDER_DIR),
          })
        : new RustFunction(this, spec.id, {
            ...options,
            runtime: 'provided.al2023',
            manifestPath: props.workspaceRoot,
            binaryName: spec.binary,
            bundling: props.otel ? { cargoLambdaFlags: ['--features', 'edge/otel'] } : undefined,
          });
      pin(fn, spec.id);
      (fn.node.defaultChild as CfnResource).addMetadata(BINARY_METADATA_KEY, spec.binary);
      functionsByBinary.set(spec.binary, fn);
      for (const route of spec.routes ?? []) {
        api.addRoutes({
          path: route.path,
          methods: [route.method],
          integration: new HttpLambdaIntegration(`${spec.id}${route.method}${route.path}`, fn),
          authorizer: route.operator ? operatorJwt : route.playerJwt ? playerJwt : noAuthorizer,
          authorizationScopes: route.operator ? [OPERATOR_SCOPE] : undefined,
        });
      }
      if (spec.schedule) {
        // SAM names the rule <Function><Event>; the target and the invoke permission come with it.
        const rule = new events.Rule(this, `${spec.id}${spec.schedule.id}`, {
          schedule: spec.schedule.expression,
          description: spec.schedule.description,
          targets: [new eventsTargets.LambdaFunction(fn)],
        });
        pin(rule, `${spec.id}${spec.schedule.id}`);
      }
      return fn;
    };
    const { GET, POST, PUT } = apigwv2.HttpMethod;

    // Player account: registration, deposit limits, self-exclusion, giving up a bonus.
    walletFunction({
      id: 'RegisterFunction',
      logGroupId: 'RegisterLogGroup',
      binary: 'register',
      description: 'Creates player accounts and manages their limits, exclusions and bonus forfeits.',
      statements: [tableReadWrite()],
      routes: [
        { method: POST, path: '/players', playerJwt: true },
        { method: PUT, path: '/players/{player_id}/limits', playerJwt: true },
        { method: POST, path: '/players/{player_id}/exclusions', playerJwt: true },
        { method: POST, path: '/players/{player_id}/bonus/forfeit', playerJwt: true },
      ],
    });

    // Read side: wallet balances, the ledger, bets and withdrawals. GET bet is the aggregator's
    // too (signed, no token): it has no authorizer and the function verifies the signature or
    // the player's token itself, against the same issuer and audience as PlayerJwt.
    walletFunction({
      id: 'WalletReadFunction',
      logGroupId: 'WalletReadLogGroup',
      binary: 'wallet-read',
      description: "Reads a player's wallet, ledger entries and bets.",
      environment: {
        AGGREGATOR_SECRET_ARN: aggregatorSecretArn.valueAsString,
        PLAYER_JWT_ISSUER: jwtIssuer.valueAsString,
        PLAYER_JWT_AUDIENCE: jwtAudience.valueAsString,
      },
      statements: [
        allow(['dynamodb:GetItem', 'dynamodb:Query'], [table.tableArn, `${table.tableArn}/index/history`]),
        readSecret(aggregatorSecretArn),
      ],
      routes: [
        { method: GET, path: '/players/{player_id}/wallet', playerJwt: true },
        { method: GET, path: '/players/{player_id}/transactions', playerJwt: true },
        { method: GET, path: '/players/{player_id}/bets/{bet_id}', playerJwt: false },
        { method: GET, path: '/players/{player_id}/withdrawals/{withdrawal_id}', playerJwt: true },
      ],
    });

    // Called by the payment provider: no JWT authorizer, the function verifies the HMAC itself.
    walletFunction({
      id: 'DepositFunction',
      logGroupId: 'DepositLogGroup',
      binary: 'deposit',
      description: 'Credits deposits confirmed by the payment provider.',
      environment: { PAYMENT_PROVIDER_SECRET_ARN: paymentProviderSecretArn.valueAsString },
      statements: [tableReadWrite(), readSecret(paymentProviderSecretArn)],
      routes: [{ method: POST, path: '/players/{player_id}/deposits', playerJwt: false }],
    });

    // Money out: the player's routes pass the JWT authorizer; the payment provider's result is
    // signed (no authorizer: the function verifies the HMAC itself).
    walletFunction({
      id: 'WithdrawFunction',
      logGroupId: 'WithdrawLogGroup',
      binary: 'withdraw',
      description: "Withdrawals (request with risk review, cancel) and the payment provider's payout results.",
      environment: {
        PAYMENT_PROVIDER_SECRET_ARN: paymentProviderSecretArn.valueAsString,
        RISK_RULES: riskRules.valueAsString,
      },
      statements: [tableReadWrite(), readSecret(paymentProviderSecretArn)],
      routes: [
        { method: POST, path: '/players/{player_id}/withdrawals', playerJwt: true },
        { method: POST, path: '/players/{player_id}/withdrawals/{withdrawal_id}/cancel', playerJwt: true },
        { method: POST, path: '/players/{player_id}/withdrawals/{withdrawal_id}/result', playerJwt: false },
      ],
    });

    // Every dead-letter and failure queue, by template.yaml's logical id (OPS_QUEUES): a
    // redrive sends each one's messages back the way they came.
    const watchedQueues: [string, sqs.Queue][] = [
      ['SettlementDeadLetterQueue', settlementDeadLetterQueue],
      ['OutboxFailureQueue', outboxFailureQueue],
      ['BonusDeadLetterQueue', bonusDeadLetterQueue],
      ['BonusRuleDeadLetterQueue', bonusRuleDeadLetterQueue],
      ['PayoutDeadLetterQueue', payoutDeadLetterQueue],
      ['PayoutRuleDeadLetterQueue', payoutRuleDeadLetterQueue],
    ];
    // The operator's back office: the review queue and decisions, the player views and the lock,
    // the audit and the dead-letter queues.
    const opsFunction = walletFunction({
      id: 'OpsFunction',
      logGroupId: 'OpsLogGroup',
      binary: 'ops',
      description: 'Operator routes (withdrawal review, player views and lock, audit, dead-letter queues).',
      // POST /ops/audit scans the whole table; an HTTP API integration ends at 30 s, so the
      // function answers (or fails with its own error) first.
      timeout: Duration.seconds(29),
      environment: {
        EVENT_BUS_NAME: eventBusName,
        // Space-separated LogicalId=QueueUrl pairs (template.yaml's OPS_QUEUES).
        OPS_QUEUES: watchedQueues.map(([logicalId, watched]) => `${logicalId}=${watched.queueUrl}`).join(' '),
        // Dead-lettered settlements go back here, unchanged (signed by the aggregator).
        SETTLEMENT_QUEUE_URL: settlementQueue.queueUrl,
      },
      statements: [
        // The account, the records and the actions (one TransactWriteItems); a page of bets
        // reads their records in one TransactGetItems.
        tableReadWrite(),
        // A player's actions, the withdrawal indexes, and the ledger and bets pages (history).
        allow(
          ['dynamodb:Query'],
          [
            table.tableArn,
            `${table.tableArn}/index/withdrawals-by-status`,
            `${table.tableArn}/index/withdrawals-by-player`,
            `${table.tableArn}/index/history`,
          ],
        ),
        // The audit: one paginated, consistent scan of the whole table.
        allow(['dynamodb:Scan'], [table.tableArn]),
        // GET /ops/queues: the depth of every watched queue.
        allow(['sqs:GetQueueAttributes'], watchedQueues.map(([, watched]) => watched.queueArn)),
        // A redrive takes messages off the six queues (SQS-managed SSE: no KMS)…
        allow(
          ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
          watchedQueues.map(([, watched]) => watched.queueArn),
        ),
        // …puts events back on the wallet bus (and a failed stream batch's, read again from
        // the table's stream)…
        allow(['events:PutEvents'], [eventBus.eventBusArn]),
        allow(['dynamodb:GetShardIterator', 'dynamodb:GetRecords'], [table.tableStreamArn!]),
        // …and sends dead-lettered settlements back to SettlementQueue, whose policy admits
        // this function's role beside the aggregator.
        allow(['sqs:SendMessage'], [settlementQueue.queueArn]),
      ],
      routes: [
        { method: GET, path: '/ops/withdrawals', playerJwt: false, operator: true },
        { method: POST, path: '/ops/withdrawals/{withdrawal_id}/decision', playerJwt: false, operator: true },
        { method: GET, path: '/ops/players', playerJwt: false, operator: true },
        { method: GET, path: '/ops/players/{player_id}', playerJwt: false, operator: true },
        { method: PUT, path: '/ops/players/{player_id}/status', playerJwt: false, operator: true },
        { method: GET, path: '/ops/players/{player_id}/transactions', playerJwt: false, operator: true },
        { method: GET, path: '/ops/players/{player_id}/bets', playerJwt: false, operator: true },
        { method: GET, path: '/ops/players/{player_id}/withdrawals', playerJwt: false, operator: true },
        { method: POST, path: '/ops/audit', playerJwt: false, operator: true },
        { method: GET, path: '/ops/queues', playerJwt: false, operator: true },
        { method: POST, path: '/ops/queues/{queue}/redrive', playerJwt: false, operator: true },
      ],
    });

    // The back office's redrive sends dead-lettered settlements back unchanged: settle-queue
    // verifies the aggregator's signature on each again. Nobody else may send.
    const opsRoleArn = opsFunction.role!.roleArn;
    settlementQueuePolicy.document.addStatements(
      new iam.PolicyStatement({
        sid: 'OpsRedrivesSettlements',
        effect: iam.Effect.ALLOW,
        principals: [new iam.ArnPrincipal(opsRoleArn)],
        actions: ['sqs:SendMessage'],
        resources: [settlementQueue.queueArn],
      }),
      new iam.PolicyStatement({
        sid: 'NobodyElseSendsSettlements',
        effect: iam.Effect.DENY,
        principals: [new iam.StarPrincipal()],
        actions: ['sqs:SendMessage'],
        resources: [settlementQueue.queueArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': [settlementSenderArn.valueAsString, opsRoleArn] } },
      }),
    );

    // review-age (a binary of the ops package): every five minutes, how long the oldest
    // withdrawal in review has waited (metric oldest_review_age_seconds), for ReviewQueueAgeAlarm.
    walletFunction({
      id: 'ReviewAgeFunction',
      logGroupId: 'ReviewAgeLogGroup',
      binary: 'review-age',
      description: 'Measures how long the oldest withdrawal in review has waited (metric oldest_review_age_seconds).',
      timeout: Duration.seconds(10),
      // The review queue, oldest first: one Query with Limit 1.
      statements: [allow(['dynamodb:Query'], [`${table.tableArn}/index/withdrawals-by-status`])],
      schedule: {
        id: 'EveryFiveMinutes',
        expression: events.Schedule.rate(Duration.minutes(5)),
        description: "Measures the review queue's oldest withdrawal every five minutes.",
      },
    });

    // Called by the game aggregator: no JWT authorizer, the function verifies the HMAC itself.
    walletFunction({
      id: 'PlaceBetFunction',
      logGroupId: 'PlaceBetLogGroup',
      binary: 'place-bet',
      description: 'Places bets signed by the game aggregator (stake from cash first, then bonus).',
      environment: { AGGREGATOR_SECRET_ARN: aggregatorSecretArn.valueAsString },
      statements: [tableReadWrite(), readSecret(aggregatorSecretArn)],
      routes: [{ method: POST, path: '/players/{player_id}/bets', playerJwt: false }],
    });

    walletFunction({
      id: 'SettleFunction',
      logGroupId: 'SettleLogGroup',
      binary: 'settle',
      description: 'Settles bets (win, loss or rollback) signed by the game aggregator.',
      environment: { AGGREGATOR_SECRET_ARN: aggregatorSecretArn.valueAsString },
      statements: [tableReadWrite(), readSecret(aggregatorSecretArn)],
      routes: [{ method: POST, path: '/players/{player_id}/bets/{bet_id}/settlement', playerJwt: false }],
    });

    // Settlements in bulk, one signed message per settlement; failed messages are reported one
    // by one, and after 5 receives a message moves to the dead-letter queue.
    const settleQueueFunction = walletFunction({
      id: 'SettleQueueFunction',
      logGroupId: 'SettleQueueLogGroup',
      binary: 'settle-queue',
      description: 'Settles bets from SQS batches sent by the game aggregator.',
      // SettlementQueue's visibility timeout must stay at least 6x this plus the batching window.
      timeout: Duration.seconds(30),
      environment: { AGGREGATOR_SECRET_ARN: aggregatorSecretArn.valueAsString },
      statements: [tableReadWrite(), readSecret(aggregatorSecretArn)],
    });
    settleQueueFunction.addEventSource(
      new SqsEventSource(settlementQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
        maxConcurrency: 10,
      }),
    );

    // The transactional outbox's relay: the table's stream to the wallet bus.
    const publisherFunction = walletFunction({
      id: 'PublisherFunction',
      logGroupId: 'PublisherLogGroup',
      binary: 'publisher',
      description: "Relays the outbox (writes carrying events, on the table's stream) to the wallet event bus.",
      timeout: Duration.seconds(30),
      environment: { EVENT_BUS_NAME: eventBusName },
      statements: [allow(['events:PutEvents'], [eventBus.eventBusArn])],
    });
    publisherFunction.addEventSource(
      new DynamoEventSource(table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        filters: [{ pattern: OUTBOX_FILTER }],
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        // Not -1: 185 attempts of at most 30 s bound the wait to about an hour and a half, then
        // the batch's metadata goes to OutboxFailureQueue (see template.yaml).
        retryAttempts: 185,
        onFailure: new SqsDlq(outboxFailureQueue),
      }),
    );

    // bonus-award: awards a campaign at most once per player, however often its trigger arrives.
    const bonusAwardFunction = walletFunction({
      id: 'BonusAwardFunction',
      logGroupId: 'BonusAwardLogGroup',
      binary: 'bonus-award',
      description: 'Awards bonuses from wallet events delivered to the bonus queue.',
      // BonusQueue's visibility timeout must stay at least 6x this plus the batching window.
      timeout: Duration.seconds(30),
      environment: { BONUS_CAMPAIGNS: bonusCampaigns.valueAsString },
      statements: [tableReadWrite()],
    });
    bonusAwardFunction.addEventSource(
      new SqsEventSource(bonusQueue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
        reportBatchItemFailures: true,
      }),
    );

    // payout: sends each approved withdrawal to the payment provider, one per invocation.
    const payoutFunction = walletFunction({
      id: 'PayoutFunction',
      logGroupId: 'PayoutLogGroup',
      binary: 'payout',
      description: "Hands approved withdrawals to the payment provider's payout API.",
      // PayoutQueue's visibility timeout must stay at least 6x this.
      timeout: Duration.seconds(30),
      environment: {
        PAYMENT_PROVIDER_SECRET_ARN: paymentProviderSecretArn.valueAsString,
        PAYOUT_API_URL: payoutApiUrl.valueAsString,
      },
      statements: [tableReadWrite(), readSecret(paymentProviderSecretArn)],
    });
    payoutFunction.addEventSource(new SqsEventSource(payoutQueue, { batchSize: 1, reportBatchItemFailures: true }));

    // --- The operator console: a static single-page app, and /ops/* of the API, behind CloudFront

    // The console's access logs: S3's for ConsoleBucket (s3/) and CloudFront's standard logs
    // (cloudfront/, with each viewer's IP address), kept 90 days. CloudFront writes its logs
    // through an ACL grant, which BucketOwnerEnforced would refuse.
    const consoleLogBucket = pin(
      new s3.Bucket(this, 'ConsoleLogBucket', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        lifecycleRules: [{ id: 'ExpireLogs', expiration: Duration.days(90) }],
        removalPolicy: RemovalPolicy.RETAIN,
      }),
      'ConsoleLogBucket',
    );
    // The console's built files and config.json; only the distribution reads them (through the
    // origin access control). Retained: CloudFormation cannot delete a bucket holding objects.
    const consoleBucket = pin(
      new s3.Bucket(this, 'ConsoleBucket', {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        // A bad upload is rolled back by restoring the previous versions; they go after 30 days.
        versioned: true,
        lifecycleRules: [{ id: 'ExpireReplacedFiles', noncurrentVersionExpiration: Duration.days(30) }],
        serverAccessLogsBucket: consoleLogBucket,
        serverAccessLogsPrefix: 's3/',
        removalPolicy: RemovalPolicy.RETAIN,
      }),
      'ConsoleBucket',
    );
    const consoleOriginAccessControl = pin(
      new cloudfront.S3OriginAccessControl(this, 'ConsoleOriginAccessControl', {
        originAccessControlName: `${Aws.STACK_NAME}-console`,
        description: "CloudFront reads the operator console's files from ConsoleBucket.",
        signing: cloudfront.Signing.SIGV4_ALWAYS,
      }),
      'ConsoleOriginAccessControl',
    );
    // Security headers on every response of the console's origin, the API's included.
    const consoleResponseHeaders = pin(
      new cloudfront.ResponseHeadersPolicy(this, 'ConsoleResponseHeadersPolicy', {
        responseHeadersPolicyName: `${Aws.STACK_NAME}-console`,
        comment: 'Security headers of the Stakeline operator console.',
        securityHeadersBehavior: {
          strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
          // Player ids travel in the console's URLs: never to another site.
          referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
          contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        },
      }),
      'ConsoleResponseHeadersPolicy',
    );
    // The console's one origin for the browser: its files, and /ops/* from the wallet API (no
    // CORS). No custom error responses: they would turn the API's 403 and 404 into index.html
    // (the app routes in the URL's fragment, so "/" is its only page path). See template.yaml.
    const consoleDistribution = pin(
      new cloudfront.Distribution(this, 'ConsoleDistribution', {
        comment: 'Stakeline operator console',
        enabled: true,
        defaultRootObject: 'index.html',
        httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
        enableIpv6: true,
        priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
        defaultBehavior: {
          origin: origins.S3BucketOrigin.withOriginAccessControl(consoleBucket, {
            originId: 'ConsoleBucket',
            originAccessControl: consoleOriginAccessControl,
          }),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          compress: true,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
          responseHeadersPolicy: consoleResponseHeaders,
        },
        additionalBehaviors: {
          '/ops/*': {
            // CloudFront's 30 s wait for an answer (its default) is API Gateway's for the function.
            origin: new origins.HttpOrigin(`${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`, {
              originId: 'WalletHttpApi',
              protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
              originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
            }),
            // An API call over HTTP is refused, not redirected (a redirect drops a POST's body).
            viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
            allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
            cachedMethods: cloudfront.CachedMethods.CACHE_GET_HEAD,
            compress: true,
            cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
            // Every viewer header (the token included) but Host: API Gateway answers only to its own.
            originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            responseHeadersPolicy: consoleResponseHeaders,
          },
        },
        enableLogging: true,
        logBucket: consoleLogBucket,
        logFilePrefix: 'cloudfront/',
        logIncludesCookies: false,
      }),
      'ConsoleDistribution',
    );
    // Both bucket policies (the TLS-only Deny, the log delivery's and CloudFront's reads) keep
    // template.yaml's logical ids.
    pin(consoleBucket.policy!, 'ConsoleBucketPolicy');
    pin(consoleLogBucket.policy!, 'ConsoleLogBucketPolicy');

    // --- Monitoring: every alarm to AlarmTopic, and the money-flow dashboard (lib/monitoring.ts)

    const monitoring = addMonitoring(this, {
      table,
      api,
      functions: functionsByBinary,
      watchedQueues,
      alarmEmail,
      hasAlarmEmail,
      reviewAgeAlarmSeconds,
      conditionalCheckFailuresAlarmThreshold,
    });

    // --- Outputs (the same as template.yaml's) -------------------------------------------------

    const output = (id: string, description: string, value: string) => new CfnOutput(this, id, { description, value });
    output('ApiUrl', 'Base URL of the wallet API.', `https://${api.apiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`);
    output('WalletTableName', 'Physical name of the wallet table.', table.tableName);
    output(
      'SettlementQueueName',
      'Name of the queue the game aggregator sends settlement messages to.',
      settlementQueue.queueName,
    );
    output(
      'SettlementQueueUrl',
      'URL of the queue the game aggregator sends settlement messages to.',
      settlementQueue.queueUrl,
    );
    output(
      'SettlementDeadLetterQueueName',
      'Name of the queue holding settlement messages that failed 5 times.',
      settlementDeadLetterQueue.queueName,
    );
    output(
      'EventBusName',
      "Name of the EventBridge bus carrying the wallet's events (source stakeline.wallet).",
      eventBusName,
    );
    output(
      'BonusQueueName',
      'Name of the queue feeding bonus-award (EventBridge envelopes of first deposits).',
      bonusQueue.queueName,
    );
    output(
      'BonusDeadLetterQueueName',
      'Name of the queue holding bonus events that bonus-award failed 5 times.',
      bonusDeadLetterQueue.queueName,
    );
    output(
      'PayoutQueueName',
      'Name of the queue feeding payout (EventBridge envelopes of WithdrawalApproved).',
      payoutQueue.queueName,
    );
    output(
      'PayoutDeadLetterQueueName',
      'Name of the queue holding approved withdrawals the payment provider did not take after 5 deliveries.',
      payoutDeadLetterQueue.queueName,
    );
    output(
      'PayoutRuleDeadLetterQueueName',
      'Name of the queue holding approvals the payout rule could not deliver to the payout queue.',
      payoutRuleDeadLetterQueue.queueName,
    );
    output(
      'BonusRuleDeadLetterQueueName',
      'Name of the queue holding events the bonus rule could not deliver to the bonus queue.',
      bonusRuleDeadLetterQueue.queueName,
    );
    output(
      'OutboxFailureQueueName',
      'Name of the queue holding the stream batches the publisher could not publish (shard and ' +
        'sequence numbers; the records stay on the stream for 24 hours from their write).',
      outboxFailureQueue.queueName,
    );
    output(
      'ConsoleUrl',
      'The operator console (its files from ConsoleBucket, /ops/* from the wallet API).',
      `https://${consoleDistribution.distributionDomainName}`,
    );
    output(
      'ConsoleBucketName',
      'Name of the bucket to upload the built console (console/dist) and its config.json to.',
      consoleBucket.bucketName,
    );
    output(
      'ConsoleDistributionId',
      "Id of the console's CloudFront distribution (to invalidate index.html and config.json after an upload).",
      consoleDistribution.distributionId,
    );
    output(
      'ConsoleLogBucketName',
      "Name of the bucket holding the console's access logs (s3/ and cloudfront/), kept 90 days.",
      consoleLogBucket.bucketName,
    );
    output(
      'AlarmTopicArn',
      'The SNS topic every alarm notifies (subscribe on-call to it; AlarmEmail subscribes one address).',
      monitoring.topic.topicArn,
    );
    output(
      'DashboardName',
      'The CloudWatch dashboard of the money flow (CloudWatch > Dashboards).',
      monitoring.dashboard.ref,
    );

    acknowledgeNagFindings(this);
  }
}
