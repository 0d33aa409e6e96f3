// The stack's monitoring, as template.yaml's "Monitoring" section: AlarmTopic (a customer
// managed key, a TLS-only policy, an optional email subscription), every alarm with its
// runbook section in OPERATIONS.md, and the money-flow dashboard. tests/infra/test_cdk_equivalence.py
// compares all of it with template.yaml (the dashboard's body as parsed JSON).
import { Aws, CfnCondition, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';

export interface MonitoringProps {
  readonly table: dynamodb.Table;
  readonly api: apigwv2.HttpApi;
  /** Every function by its Cargo binary, in template.yaml's order. */
  readonly functions: Map<string, lambda.IFunction>;
  /** Every dead-letter and failure queue, by template.yaml's logical id. */
  readonly watchedQueues: [string, sqs.IQueue][];
  readonly alarmEmail: CfnParameter;
  readonly hasAlarmEmail: CfnCondition;
  readonly reviewAgeAlarmSeconds: CfnParameter;
  readonly conditionalCheckFailuresAlarmThreshold: CfnParameter;
}

export interface Monitoring {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.CfnDashboard;
}

/** What waits in each dead-letter or failure queue (its depth alarm's description). */
const QUEUE_MEANING: Record<string, string> = {
  SettlementDeadLetterQueue:
    'Settlement messages wait in SettlementDeadLetterQueue: settle-queue failed each of them 5 times, so ' +
    'those bets are not settled yet.',
  OutboxFailureQueue:
    "The publisher gave up on a batch of the table's stream (OutboxFailureQueue holds its shard and sequence " +
    'numbers): its events reached no consumer, and the stream keeps them only 24 hours from their write.',
  BonusDeadLetterQueue:
    'First-deposit events wait in BonusDeadLetterQueue: bonus-award failed each of them 5 times, so those ' +
    'bonuses are not awarded yet.',
  BonusRuleDeadLetterQueue:
    'First-deposit events wait in BonusRuleDeadLetterQueue: EventBridge could not deliver them to BonusQueue ' +
    'within its retries, so those bonuses are not awarded yet.',
  PayoutDeadLetterQueue:
    'Approved withdrawals wait in PayoutDeadLetterQueue: the payment provider did not take them after 5 ' +
    'deliveries; they are not paid and their amounts stay held.',
  PayoutRuleDeadLetterQueue:
    'Approved withdrawals wait in PayoutRuleDeadLetterQueue: EventBridge could not deliver them to PayoutQueue ' +
    'within its retries; they are not paid and their amounts stay held.',
};

/** The functions that change the wallet (TransactWriteItems), whose retries can run out. */
const WRITERS = ['register', 'deposit', 'withdraw', 'ops', 'place-bet', 'settle', 'settle-queue', 'bonus-award', 'payout'];

/** Every DynamoDB operation the functions call on the table (ThrottledRequests is per operation). */
const TABLE_OPERATIONS = ['GetItem', 'Query', 'Scan', 'TransactGetItems', 'TransactWriteItems'];

/** The publisher's event types that move money, and how the dashboard names them. */
const MONEY_TYPES: [string, string][] = [
  ['DepositCompleted', 'deposits'],
  ['BetPlaced', 'stakes'],
  ['BetSettled', 'winnings (settlement credits)'],
  ['BonusAwarded', 'bonuses awarded'],
  ['WithdrawalRequested', 'withdrawals requested'],
  ['WithdrawalPaid', 'withdrawals paid'],
];

const FIVE_MINUTES = Duration.minutes(5);
const runbook = (anchor: string) => `Runbook: OPERATIONS.md#${anchor}`;
/** wallet-read -> WalletRead (the alarms' logical ids). */
const camel = (binary: string) =>
  binary
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

export function addMonitoring(stack: Stack, props: MonitoringProps): Monitoring {
  const alarmSource = `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${Aws.STACK_NAME}-*`;
  const onlyTheStackAlarms = {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': alarmSource },
  };
  const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

  // A customer managed key: CloudWatch cannot use SNS's AWS managed key (its policy cannot be
  // changed), so it could not publish to a topic encrypted with it.
  const key = new kms.Key(stack, 'AlarmTopicKey', {
    description: 'Encrypts the Stakeline alarm notifications of AlarmTopic.',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
    policy: new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          sid: 'AccountAdministersTheKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:*'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'StackAlarmsEncryptNotifications',
          principals: [cloudwatchService],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: onlyTheStackAlarms,
        }),
      ],
    }),
  });
  pin(key, 'AlarmTopicKey');

  const topic = new sns.Topic(stack, 'AlarmTopic', { displayName: 'Stakeline alarms', masterKey: key, enforceSSL: true });
  pin(topic, 'AlarmTopic');
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'StackAlarmsPublish',
      principals: [cloudwatchService],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: onlyTheStackAlarms,
    }),
  );
  pin(topic.node.findChild('Policy'), 'AlarmTopicPolicy');
  const subscription = new sns.CfnSubscription(stack, 'AlarmEmailSubscription', {
    topicArn: topic.topicArn,
    protocol: 'email',
    endpoint: props.alarmEmail.valueAsString,
  });
  subscription.cfnOptions.condition = props.hasAlarmEmail;

  const notify = new SnsAction(topic);
  const alarm = (
    logicalId: string,
    name: string,
    description: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    options: { evaluationPeriods?: number; datapointsToAlarm?: number; treatMissingData?: cloudwatch.TreatMissingData } = {},
  ) => {
    const created = new cloudwatch.Alarm(stack, logicalId, {
      alarmName: `${Aws.STACK_NAME}-${name}`,
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(notify);
    created.addOkAction(notify);
    pin(created, logicalId);
    return created;
  };
  const metric = (
    namespace: string,
    metricName: string,
    dimensionsMap: Record<string, string>,
    statistic = 'Sum',
    period = FIVE_MINUTES,
  ) => new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, period });
  const fn = (binary: string) => {
    const found = props.functions.get(binary);
    if (!found) throw new Error(`monitoring: no function ${binary}`);
    return found;
  };

  for (const [logicalId, queue] of props.watchedQueues) {
    alarm(
      `${logicalId}DepthAlarm`,
      `${logicalId}-depth`,
      `${QUEUE_MEANING[logicalId]} Fires when AWS/SQS ApproximateNumberOfMessagesVisible is above 0. ` +
        runbook(logicalId.toLowerCase()),
      metric('AWS/SQS', 'ApproximateNumberOfMessagesVisible', { QueueName: queue.queueName }, 'Maximum'),
      0,
    );
  }
  for (const [binary, function_] of props.functions) {
    const dimensions = { FunctionName: function_.functionName };
    alarm(
      `${camel(binary)}ErrorsAlarm`,
      `${binary}-errors`,
      `${binary}: invocations failed (AWS/Lambda Errors above 0 in 5 minutes): a crash, a timeout, or an error ` +
        `the function returned instead of an answer. ${runbook('function-errors')}`,
      metric('AWS/Lambda', 'Errors', dimensions),
      0,
    );
    alarm(
      `${camel(binary)}ThrottlesAlarm`,
      `${binary}-throttles`,
      `${binary}: Lambda turned invocations away for lack of concurrency (AWS/Lambda Throttles above 0 in 5 ` +
        `minutes). ${runbook('function-throttles')}`,
      metric('AWS/Lambda', 'Throttles', dimensions),
      0,
    );
  }
  alarm(
    'PublisherIteratorAgeAlarm',
    'publisher-iterator-age',
    "The publisher is more than a minute behind the table's stream (AWS/Lambda IteratorAge maximum above 60000 " +
      'ms for 3 minutes in a row): events reach the bonus and payout queues late, and a batch it cannot publish ' +
      `ends in OutboxFailureQueue. ${runbook('publisher-iterator-age')}`,
    metric('AWS/Lambda', 'IteratorAge', { FunctionName: fn('publisher').functionName }, 'Maximum', Duration.minutes(1)),
    60000,
    { evaluationPeriods: 3, datapointsToAlarm: 3 },
  );
  alarm(
    'PayoutsRefusedAlarm',
    'payouts-refused',
    'The payment provider refused payouts (Stakeline payouts, outcome refused, above 0 in 5 minutes): those ' +
      `withdrawals failed and their amounts went back to the players' cash. ${runbook('payouts-refused')}`,
    metric('Stakeline', 'payouts', { function: 'payout', outcome: 'refused' }),
    0,
  );
  alarm(
    'PayoutsUnansweredAlarm',
    'payouts-unanswered',
    'The payment provider did not answer payouts (Stakeline payouts, outcome unanswered, above 0 in 5 minutes: ' +
      'a 5xx, a timeout or no connection): they are retried, then wait in PayoutDeadLetterQueue; their amounts ' +
      `stay held. ${runbook('payouts-unanswered')}`,
    metric('Stakeline', 'payouts', { function: 'payout', outcome: 'unanswered' }),
    0,
  );
  alarm(
    'ReviewQueueAgeAlarm',
    'review-queue-age',
    'The oldest withdrawal in review has waited longer than ReviewAgeAlarmSeconds (Stakeline ' +
      'oldest_review_age_seconds, from review-age every 5 minutes), or review-age reported nothing for 15 ' +
      `minutes (missing data counts as breaching). ${runbook('review-queue-age')}`,
    metric('Stakeline', 'oldest_review_age_seconds', { function: 'review-age' }, 'Maximum', Duration.minutes(15)),
    props.reviewAgeAlarmSeconds.valueAsNumber,
    { treatMissingData: cloudwatch.TreatMissingData.BREACHING },
  );
  const table = { TableName: props.table.tableName };
  const throttledByOperation = Object.fromEntries(
    TABLE_OPERATIONS.map((operation) => [
      operation.toLowerCase(),
      metric('AWS/DynamoDB', 'ThrottledRequests', { ...table, Operation: operation }),
    ]),
  );
  alarm(
    'TableThrottledRequestsAlarm',
    'table-throttled-requests',
    'DynamoDB throttled requests of the functions on the wallet table or its indexes (AWS/DynamoDB ' +
      `ThrottledRequests of every operation they call, above 0 in 5 minutes). ${runbook('table-throttling')}`,
    new cloudwatch.MathExpression({
      expression: `SUM([${Object.keys(throttledByOperation).join(', ')}])`,
      usingMetrics: throttledByOperation,
      label: 'Throttled requests, every operation',
      period: FIVE_MINUTES,
    }),
    0,
  );
  alarm(
    'TableReadThrottleEventsAlarm',
    'table-read-throttle-events',
    `DynamoDB throttled reads of the wallet table (AWS/DynamoDB ReadThrottleEvents above 0 in 5 minutes). ` +
      runbook('table-throttling'),
    metric('AWS/DynamoDB', 'ReadThrottleEvents', table),
    0,
  );
  alarm(
    'TableWriteThrottleEventsAlarm',
    'table-write-throttle-events',
    `DynamoDB throttled writes of the wallet table (AWS/DynamoDB WriteThrottleEvents above 0 in 5 minutes). ` +
      runbook('table-throttling'),
    metric('AWS/DynamoDB', 'WriteThrottleEvents', table),
    0,
  );
  for (const binary of WRITERS) {
    fn(binary);
    alarm(
      `${camel(binary)}ContentionExhaustedAlarm`,
      `${binary}-contention-exhausted`,
      `${binary}: a change of the wallet gave up after its retries, the items it read having changed under it ` +
        'every time (Stakeline contention_exhausted above 0 in 5 minutes); its caller got an error and may try ' +
        `again. ${runbook('contention-exhausted')}`,
      metric('Stakeline', 'contention_exhausted', { function: binary }),
      0,
    );
  }
  alarm(
    'TableConditionalCheckFailuresAlarm',
    'table-conditional-check-failures',
    'Conditional writes to the wallet table failed more than ConditionalCheckFailuresAlarmThreshold times in 5 ' +
      `minutes (AWS/DynamoDB ConditionalCheckFailedRequests). ${runbook('conditional-check-failures')}`,
    metric('AWS/DynamoDB', 'ConditionalCheckFailedRequests', table),
    props.conditionalCheckFailuresAlarmThreshold.valueAsNumber,
  );
  const api = { ApiId: props.api.apiId, Stage: '$default' };
  alarm(
    'Api5xxRateAlarm',
    'api-5xx-rate',
    "More than 1% of the HTTP API's answers in 5 minutes were 5xx (AWS/ApiGateway 5xx / Count, counted from 20 " +
      `requests in 5 minutes). ${runbook('api-5xx-rate')}`,
    new cloudwatch.MathExpression({
      expression: 'IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)',
      usingMetrics: {
        errors: metric('AWS/ApiGateway', '5xx', api),
        requests: metric('AWS/ApiGateway', 'Count', api),
      },
      label: '5xx answers, % of requests (0 below 20 requests)',
      period: FIVE_MINUTES,
    }),
    1,
  );

  const dashboard = new cloudwatch.CfnDashboard(stack, 'MoneyFlowDashboard', {
    dashboardName: `${Aws.STACK_NAME}-money-flow`,
    dashboardBody: stack.toJsonString(dashboardBody(props)),
  });
  dashboard.overrideLogicalId('MoneyFlowDashboard');
  return { topic, dashboard };
}

/** template.yaml's MoneyFlowDashboard body, widget for widget. */
function dashboardBody(props: MonitoringProps): object {
  type Entry = (string | object)[];
  const m = (namespace: string, name: string, dimensions: [string, string][], options?: object): Entry => [
    namespace,
    name,
    ...dimensions.flat(),
    ...(options ? [options] : []),
  ];
  const search = (id: string, expression: string): Entry[] => [[{ expression, id }]];
  const widget = (
    title: string,
    metrics: Entry[],
    x: number,
    y: number,
    stat = 'Sum',
    period = 300,
  ) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: Aws.REGION, view: 'timeSeries', stacked: false, stat, period, metrics },
  });
  const publisher: [string, string][] = [['function', 'publisher']];
  const api: [string, string][] = [
    ['ApiId', props.api.apiId],
    ['Stage', '$default'],
  ];
  const functions = [...props.functions.entries()];
  const table: [string, string][] = [['TableName', props.table.tableName]];
  return {
    widgets: [
      {
        type: 'text',
        x: 0,
        y: 0,
        width: 24,
        height: 2,
        properties: {
          markdown:
            '# Stakeline: the money flow\nAmounts are integer minor units: the first graph sums every currency, the ' +
            'last one splits them by currency. Every alarm of the stack and what to do about it: OPERATIONS.md in the ' +
            'repository.',
        },
      },
      widget(
        'Money moved (minor units)',
        MONEY_TYPES.map(([type, label]) => m('Stakeline', 'minor_units', [...publisher, ['type', type]], { label })),
        0,
        2,
      ),
      widget(
        'Money movements (events published)',
        MONEY_TYPES.map(([type, label]) => m('Stakeline', 'events', [...publisher, ['type', type]], { label })),
        12,
        2,
      ),
      widget(
        "Payouts by the payment provider's answer",
        ['accepted', 'refused', 'unanswered'].map((outcome) =>
          m('Stakeline', 'payouts', [['function', 'payout'], ['outcome', outcome]], { label: outcome }),
        ),
        0,
        8,
      ),
      widget(
        'Oldest withdrawal in review (seconds)',
        [m('Stakeline', 'oldest_review_age_seconds', [['function', 'review-age']], { label: 'oldest waiting' })],
        12,
        8,
        'Maximum',
      ),
      widget(
        'Rejections by code',
        search('rejections', `SEARCH('{Stakeline,function,code} MetricName="rejections"', 'Sum', 300)`),
        0,
        14,
      ),
      widget(
        'Replays (a repeated id answered from its record)',
        search('replays', `SEARCH('{Stakeline,function,route} MetricName="replays"', 'Sum', 300)`),
        12,
        14,
      ),
      widget(
        'Contention: retries and exhausted',
        [
          ...search('retries', `SEARCH('{Stakeline,function} MetricName="contention_retries"', 'Sum', 300)`),
          ...search('exhausted', `SEARCH('{Stakeline,function} MetricName="contention_exhausted"', 'Sum', 300)`),
        ],
        0,
        20,
      ),
      widget(
        'Requests by route and outcome',
        search('requests', `SEARCH('{Stakeline,function,route,outcome} MetricName="requests"', 'Sum', 300)`),
        12,
        20,
      ),
      widget(
        'Invocations per function',
        functions.map(([binary, f]) => m('AWS/Lambda', 'Invocations', [['FunctionName', f.functionName]], { label: binary })),
        0,
        26,
      ),
      widget(
        'Errors per function',
        functions.map(([binary, f]) => m('AWS/Lambda', 'Errors', [['FunctionName', f.functionName]], { label: binary })),
        12,
        26,
      ),
      widget(
        'Dead-letter and failure queues: messages waiting',
        props.watchedQueues.map(([logicalId, queue]) =>
          m('AWS/SQS', 'ApproximateNumberOfMessagesVisible', [['QueueName', queue.queueName]], { label: logicalId }),
        ),
        0,
        32,
        'Maximum',
      ),
      widget(
        'Queue message failures and dead letters',
        [
          ...search('failures', `SEARCH('{Stakeline,function,queue,code} MetricName="message_failures"', 'Sum', 300)`),
          ...search('deadlettered', `SEARCH('{Stakeline,function,queue} MetricName="dead_lettered"', 'Sum', 300)`),
        ],
        12,
        32,
      ),
      widget(
        'API: requests, 4xx and 5xx',
        [
          ['Count', 'requests'],
          ['4xx', '4xx'],
          ['5xx', '5xx'],
        ].map(([name, label]) => m('AWS/ApiGateway', name, api, { label })),
        0,
        38,
      ),
      widget(
        'API latency (ms)',
        [
          m('AWS/ApiGateway', 'Latency', api, { stat: 'p50', label: 'latency p50' }),
          m('AWS/ApiGateway', 'Latency', api, { stat: 'p99', label: 'latency p99' }),
          m('AWS/ApiGateway', 'IntegrationLatency', api, { stat: 'p99', label: 'function p99' }),
        ],
        12,
        38,
        'p99',
      ),
      widget(
        "Publisher: age of the stream's oldest record (ms)",
        [m('AWS/Lambda', 'IteratorAge', [['FunctionName', props.functions.get('publisher')!.functionName]], { label: 'iterator age' })],
        0,
        44,
        'Maximum',
        60,
      ),
      widget(
        'Wallet table: throttles and conditional check failures',
        ['ReadThrottleEvents', 'WriteThrottleEvents', 'ConditionalCheckFailedRequests'].map((name) =>
          m('AWS/DynamoDB', name, table, { label: name }),
        ),
        12,
        44,
      ),
      {
        ...widget(
          'Money moved by currency (minor units of each currency)',
          search('bycurrency', `SEARCH('{Stakeline,function,type,currency} MetricName="minor_units_by_currency"', 'Sum', 300)`),
          0,
          50,
        ),
        width: 24,
      },
    ],
  };
}

function pin(construct: { node: { defaultChild?: unknown } }, logicalId: string): void {
  const child = construct.node.defaultChild as { overrideLogicalId(id: string): void } | undefined;
  if (!child) throw new Error(`monitoring: ${logicalId} has no CloudFormation resource to name`);
  child.overrideLogicalId(logicalId);
}
