// Every cdk-nag (AwsSolutions) and CloudFormation-validation finding this stack acknowledges,
// each on the constructs it concerns and with its reason. Any other finding fails
// `npm run check`. A construct named here that no longer exists fails the synth too, so an
// acknowledgement cannot outlive what it was about.
import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

const FUNCTIONS = [
  'RegisterFunction',
  'WalletReadFunction',
  'DepositFunction',
  'PlaceBetFunction',
  'SettleFunction',
  'SettleQueueFunction',
  'PublisherFunction',
  'BonusAwardFunction',
  'WithdrawFunction',
  'OpsFunction',
  'ReviewAgeFunction',
  'PayoutFunction',
];

const QUEUES = [
  'SettlementQueue',
  'SettlementDeadLetterQueue',
  'OutboxFailureQueue',
  'BonusQueue',
  'BonusDeadLetterQueue',
  'BonusRuleDeadLetterQueue',
  'PayoutQueue',
  'PayoutDeadLetterQueue',
  'PayoutRuleDeadLetterQueue',
];

// The routes the payment provider and the game aggregator call (no JWT authorizer).
const SIGNED_ROUTES = [
  'WalletHttpApi/POST--players--{player_id}--deposits',
  'WalletHttpApi/POST--players--{player_id}--withdrawals--{withdrawal_id}--result',
  'WalletHttpApi/POST--players--{player_id}--bets',
  'WalletHttpApi/POST--players--{player_id}--bets--{bet_id}--settlement',
];

function at(stack: Stack, path: string): IConstruct {
  let node: IConstruct = stack;
  for (const id of path.split('/')) {
    const child = node.node.tryFindChild(id);
    if (!child) {
      throw new Error(`cdk-nag acknowledgement: no construct ${stack.node.id}/${path}`);
    }
    node = child;
  }
  return node;
}

export function acknowledgeNagFindings(stack: Stack): void {
  for (const queue of QUEUES) {
    Validations.of(at(stack, queue)).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS4',
      reason:
        'The queue policies are exactly those of template.yaml, which has no aws:SecureTransport Deny; ' +
        "every sender and receiver (Lambda's event source mappings, EventBridge, the aggregator's and " +
        "operators' AWS SDKs) uses the HTTPS endpoint. A TLS-only Deny is to be added to template.yaml " +
        'and to this stack together, never to one of them alone.',
    });
  }

  Validations.of(at(stack, 'OutboxFailureQueue')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      "It is a dead-letter queue: the on-failure destination of the publisher's DynamoDB stream event " +
      'source (cdk-nag only recognises the dead-letter queues of SQS redrive policies).',
  });
  Validations.of(at(stack, 'BonusRuleDeadLetterQueue')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      "It is a dead-letter queue: the DeadLetterConfig of FirstDepositBonusRule's target (cdk-nag only " +
      'recognises the dead-letter queues of SQS redrive policies).',
  });
  Validations.of(at(stack, 'PayoutRuleDeadLetterQueue')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-SQS3',
    reason:
      "It is a dead-letter queue: the DeadLetterConfig of WithdrawalApprovedRule's target (cdk-nag only " +
      'recognises the dead-letter queues of SQS redrive policies).',
  });

  for (const route of SIGNED_ROUTES) {
    Validations.of(at(stack, route)).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG4',
      reason:
        'Called by the payment provider or the game aggregator, which hold no player token: as in ' +
        'template.yaml (Auth: Authorizer: NONE), the function verifies the X-Stakeline-Signature HMAC ' +
        "(timestamp.METHOD.rawPath.body, with the integration's secret read from Secrets Manager) and " +
        'answers 401 before reading or writing anything.',
    });
  }

  Validations.of(at(stack, 'WalletHttpApi/GET--players--{player_id}--bets--{bet_id}')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-APIG4',
    reason:
      'Read by the player (a token) and by the game aggregator (a signature, no token): one path, so no ' +
      'authorizer can admit both. As in template.yaml (Auth: Authorizer: NONE), wallet-read verifies the ' +
      "aggregator's X-Stakeline-Signature HMAC, or the player's token exactly as PlayerJwt would (the " +
      "issuer's published RSA keys, issuer, audience, expiry), and answers 401 before reading anything.",
  });

  for (const fn of FUNCTIONS) {
    Validations.of(at(stack, `${fn}Role`)).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs; SAM attaches ' +
        "the same policy to every function of template.yaml. The function's own permissions are the " +
        "role's inline policy, scoped to exact resources.",
    });
    Validations.of(at(stack, `${fn}Role/DefaultPolicy`)).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only actions that support no resource-level permission: xray:PutTraceSegments and ' +
        'xray:PutTelemetryRecords (Tracing: Active), and for the publisher dynamodb:ListStreams (its ' +
        'stream event source). SAM grants the same through AWSXrayWriteOnlyAccess and ' +
        "AWSLambdaDynamoDBExecutionRole. Every other statement of the role names its exact resource.",
    });
  }

  // The operator console's distribution (template.yaml: ConsoleDistribution).
  Validations.of(at(stack, 'ConsoleDistribution')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-CFR1',
    reason:
      "Where the operator's staff may work from is the operator's policy, not the wallet's: the " +
      'distribution serves the console to any country, and everything behind it that holds data ' +
      '(/ops/*) still needs an operator token with the stakeline/ops scope. An operator who wants ' +
      'geo restrictions adds them to template.yaml and to this stack together.',
  });
  Validations.of(at(stack, 'ConsoleDistribution')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-CFR2',
    reason:
      "A web ACL for CloudFront (scope CLOUDFRONT) can only be created in us-east-1, so this regional " +
      "stack cannot hold one. What the distribution serves is the console's public build output and " +
      "/ops/*, where API Gateway's throttling (ApiThrottlingBurstLimit, ApiThrottlingRateLimit) and " +
      "the OperatorJwt authorizer with the stakeline/ops scope answer before any function runs. An " +
      "operator with a web ACL sets the distribution's WebACLId in template.yaml and here together.",
  });
  Validations.of(at(stack, 'ConsoleDistribution')).acknowledge({
    id: 'AwsSolutions::AwsSolutions-CFR4',
    reason:
      "The distribution uses CloudFront's default *.cloudfront.net certificate, whose security policy " +
      'is fixed at TLSv1 (the stack has no domain of its own to certify). Browsers negotiate TLS 1.2 ' +
      'or 1.3 with it, and CloudFront reaches both origins over TLS 1.2 only. With a domain of the ' +
      "operator's own, an ACM certificate in us-east-1 and MinimumProtocolVersion TLSv1.2_2021 raise " +
      'the floor (Aliases and ViewerCertificate, in template.yaml and here together).',
  });

  Validations.of(stack).acknowledge({
    id: 'CloudFormation-Validate::W2509',
    reason:
      'PaymentProviderSecretArn and AggregatorSecretArn are the ARNs of Secrets Manager secrets, not ' +
      'secret values: NoEcho would only hide which secrets the stack uses (template.yaml does not set it).',
  });
}
