#!/usr/bin/env node
// The CDK app: one stack, Stakeline, checked by cdk-nag's AWS Solutions rules.
import * as path from 'node:path';

import { App, Validations } from 'aws-cdk-lib';
import { Architecture } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';

import { StakelineStack } from '../lib/stakeline-stack';

// dist/bin -> infra/cdk -> the repository root, whose Cargo.toml is the Rust workspace.
const appDir = path.resolve(__dirname, '..', '..');
const workspaceRoot = path.resolve(appDir, '..', '..');

const app = new App();
// `-c stakeline:placeholderCode=true` (npm run synth): the offline check, which neither probes
// for nor runs cargo, and bundles no asset (see lib/stakeline-stack.ts and README.md).
const placeholderCode = ['true', true].includes(app.node.tryGetContext('stakeline:placeholderCode'));
if (placeholderCode) {
  // The CLI refuses `aws:` context from the command line: skip bundling in every stack here.
  app.node.setContext('aws:cdk:bundling-stacks', []);
}

// `-c architecture=x86_64` builds and deploys every function for x86_64 (template.yaml's
// Architecture parameter); arm64 by default.
const ARCHITECTURES: Record<string, Architecture> = { arm64: Architecture.ARM_64, x86_64: Architecture.X86_64 };
const architectureName = app.node.tryGetContext('architecture') ?? 'arm64';
const architecture = ARCHITECTURES[architectureName];
if (!architecture) {
  throw new Error(`-c architecture=${architectureName}: expected one of ${Object.keys(ARCHITECTURES).join(', ')}`);
}

// `-c otel=true` builds every function with OpenTelemetry (`--features edge/otel`, see
// OPERATIONS.md "Traces"); off by default.
const otel = ['true', true].includes(app.node.tryGetContext('otel'));

new StakelineStack(app, 'Stakeline', {
  description:
    'Stakeline player wallet: an HTTP API in front of Rust functions that keep every player\'s ' +
    'money in one DynamoDB table.',
  workspaceRoot,
  placeholderCode,
  architecture,
  otel,
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
