#!/usr/bin/env node
// Second half of `npm run check`, after the synth: makes sure cdk-nag (AwsSolutions) really ran
// on the stack and passed, and lists what was acknowledged (lib/nag.ts gives each reason).
// `cdk synth` already fails on any unacknowledged finding; this also fails if the rule pack was
// not registered at all, or if the template was not synthesized for checks.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = path.join(__dirname, '..', 'cdk.out');
const fail = (message) => {
  console.error(`check: ${message}`);
  process.exit(1);
};

const reportPath = path.join(out, 'validation-report.json');
if (!fs.existsSync(reportPath)) fail(`${reportPath} is missing: did the synth run the validation plugins?`);
const report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
const plugins = report.pluginReports ?? [];

const nag = plugins.find((plugin) => plugin.pluginName === 'AwsSolutions');
if (!nag) fail('no AwsSolutions report: cdk-nag did not run');
for (const plugin of plugins) {
  if (plugin.conclusion !== 'success' || (plugin.violations ?? []).length > 0) {
    fail(`${plugin.pluginName}: ${plugin.conclusion}, ${(plugin.violations ?? []).length} violation(s)`);
  }
}

const template = JSON.parse(fs.readFileSync(path.join(out, 'Stakeline.template.json'), 'utf8'));
if (!template.Rules || !template.Rules.PlaceholderCodeIsNotDeployable) {
  fail('the template was not synthesized with placeholder code (npm run synth sets stakeline:placeholderCode)');
}

for (const plugin of plugins) {
  const acknowledged = new Map();
  for (const finding of plugin.suppressedViolations ?? []) {
    acknowledged.set(finding.ruleName, (acknowledged.get(finding.ruleName) ?? 0) + finding.violatingConstructs.length);
  }
  console.log(`${plugin.pluginName}: ${plugin.conclusion}, 0 violations, acknowledged:`);
  for (const [rule, count] of acknowledged) console.log(`  ${rule} x${count}`);
}
console.log(`check: ${path.relative(process.cwd(), path.join(out, 'Stakeline.template.json'))} is ready for tests/infra/test_cdk_equivalence.py`);
