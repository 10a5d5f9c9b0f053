// Prints what a reviewer wants after deploy/local/e2e.sh: counts, failures, the tests marked
// fixme with their reasons, the accessibility results and the screenshots.
//
//   node e2e/summary.mjs OUT_DIR SUITE_SECONDS TOTAL_SECONDS
//
// OUT_DIR holds report.json (Playwright's JSON reporter), axe/*.json and screenshots/*.png.
// The last line is "e2e: N passed, N failed, N skipped".

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [out, suiteSeconds = '?', totalSeconds = '?'] = process.argv.slice(2);
if (!out) {
  console.error('usage: node e2e/summary.mjs OUT_DIR [SUITE_SECONDS TOTAL_SECONDS]');
  process.exit(2);
}
const shown = (file) => path.relative(process.cwd(), file) || file;

const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'));
const tests = [];
function walk(suite, titles) {
  const here = suite.title ? [...titles, suite.title] : titles;
  for (const spec of suite.specs ?? []) {
    for (const test of spec.tests ?? []) tests.push({ title: [...here, spec.title].join(' › '), test });
  }
  for (const child of suite.suites ?? []) walk(child, here);
}
for (const suite of report.suites ?? []) walk(suite, []);

const by = (status) => tests.filter((entry) => entry.test.status === status);
const passed = by('expected');
const failed = by('unexpected');
const flaky = by('flaky');
const skipped = by('skipped');

const lines = [];
lines.push('', '==> e2e summary');
lines.push(`  ${passed.length} passed, ${failed.length} failed, ${flaky.length} flaky, ${skipped.length} skipped (fixme)`);
lines.push(`  suite ${suiteSeconds} s, whole run ${totalSeconds} s`);
if (skipped.length > 0) {
  lines.push('  not run (fixme; delete the fixme line once the backend piece exists):');
  for (const { title, test } of skipped) {
    const reason = (test.annotations ?? []).find((annotation) => annotation.type === 'fixme' || annotation.type === 'skip')?.description;
    lines.push(`    - ${title}${reason ? ` — ${reason}` : ''}`);
  }
}
const knownFailing = tests.filter(({ test }) => test.status === 'expected' && test.expectedStatus === 'failed');
if (knownFailing.length > 0) {
  lines.push('  known bugs, checked by tests marked test.fail (they fail as expected; passing means fixed):');
  for (const { title, test } of knownFailing) {
    const reason = (test.annotations ?? []).find((annotation) => annotation.type === 'fail')?.description;
    lines.push(`    - ${title}${reason ? ` — ${reason}` : ''}`);
  }
}
for (const error of report.errors ?? []) lines.push(`  error outside the tests: ${String(error.message ?? error).split('\n')[0]}`);

const axeDir = path.join(out, 'axe');
const axeFiles = existsSync(axeDir) ? readdirSync(axeDir).filter((name) => name.endsWith('.json')).sort() : [];
if (axeFiles.length > 0) {
  const impacts = ['critical', 'serious', 'moderate', 'minor'];
  const totals = Object.fromEntries(impacts.map((impact) => [impact, 0]));
  lines.push(`  accessibility (axe-core), ${axeFiles.length} page states; violations by impact:`);
  for (const name of axeFiles) {
    const { label, violations } = JSON.parse(readFileSync(path.join(axeDir, name), 'utf8'));
    const counts = Object.fromEntries(impacts.map((impact) => [impact, 0]));
    for (const violation of violations) if (violation.impact in counts) counts[violation.impact] += 1;
    impacts.forEach((impact) => (totals[impact] += counts[impact]));
    const ids = violations.map((violation) => `${violation.id} (${violation.impact}${violation.knownBug ? ', known bug' : ''})`).join(', ');
    lines.push(`    ${label.padEnd(32)} ${impacts.map((impact) => `${impact} ${counts[impact]}`).join(', ')}${ids ? ` — ${ids}` : ''}`);
  }
  lines.push(`    ${'all'.padEnd(32)} ${impacts.map((impact) => `${impact} ${totals[impact]}`).join(', ')}`);
  const knownBugs = new Map();
  for (const name of axeFiles) {
    const { label, knownBugs: bugs = [] } = JSON.parse(readFileSync(path.join(axeDir, name), 'utf8'));
    for (const bug of bugs) knownBugs.set(bug, [...(knownBugs.get(bug) ?? []), label]);
  }
  if (knownBugs.size > 0) {
    lines.push('    serious violations that are known UI bugs (KNOWN_A11Y_BUGS in e2e/fixtures.ts; not failing):');
    for (const [bug, labels] of knownBugs) lines.push(`      - ${bug} — on ${labels.length} page states`);
  }
  lines.push(`    full results: ${shown(axeDir)}/*.json`);
}

const shotDir = path.join(out, 'screenshots');
const shots = existsSync(shotDir) ? readdirSync(shotDir).filter((name) => name.endsWith('.png')).sort() : [];
lines.push(`  screenshots: ${shots.length} in ${shown(shotDir)}`);
for (let i = 0; i < shots.length; i += 4) lines.push(`    ${shots.slice(i, i + 4).join('  ')}`);
// Failures and flakes come last: a CI log that keeps only its tail still names them.
const listed = (heading, entries, mark, attempt) => {
  if (entries.length === 0) return;
  lines.push(heading);
  for (const { title, test } of entries) {
    const result = attempt(test.results ?? []);
    const message = (result?.errors?.[0]?.message ?? result?.error?.message ?? '').replace(/\u001b\[[0-9;]*m/g, '');
    lines.push(`    ${mark} ${title}`);
    if (message) lines.push(`        ${message.split('\n').filter(Boolean).slice(0, 3).join('\n        ')}`);
  }
};
listed('  flaky (failed, then passed on the retry; fix them):', flaky, '~', (results) => results.find((result) => result.status !== 'passed'));
listed('  failed:', failed, '✘', (results) => results[results.length - 1]);
if (failed.length > 0 || flaky.length > 0) lines.push(`  traces and screenshots of failed tests: ${shown(path.join(out, 'results'))}`);
lines.push(`e2e: ${passed.length + flaky.length} passed, ${failed.length} failed, ${skipped.length} skipped`);
console.log(lines.join('\n'));
