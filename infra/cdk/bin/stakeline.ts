#!/usr/bin/env node
// The CDK app: one stack, Stakeline, checked by cdk-nag's AWS Solutions rules.
import * as path from 'node:path';

import { App, Validations } from 'aws-cdk-lib';
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

new StakelineStack(app, 'Stakeline', {
  description:
    'Stakeline player wallet: an HTTP API in front of Rust functions that keep every player\'s ' +
    'money in one DynamoDB table.',
  workspaceRoot,
  placeholderCode,
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
