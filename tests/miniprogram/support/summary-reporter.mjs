// node:test reporter for `make test`: a dot per passing test, details only for failures, one summary line.
import { inspect } from 'node:util';

export default async function* summary(source) {
  let passed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting, details, skip, todo } = event.data;
    // Suites report too; only count leaf tests (a failing suite still shows its failure).
    if (details && details.type === 'suite' && event.type === 'test:pass') continue;
    if (skip || todo) {
      skipped += 1;
      yield 's';
    } else if (event.type === 'test:pass') {
      passed += 1;
      yield '.';
    } else {
      failures.push({ name, nesting, file: event.data.file, error: details && details.error });
      yield 'F';
    }
  }
  yield '\n';
  for (const failure of failures) {
    yield `\nFAILED ${failure.file || ''} › ${failure.name}\n`;
    const error = failure.error && (failure.error.cause || failure.error);
    yield `${inspect(error, { depth: 4 })}\n`;
  }
  yield `\n${passed} passed, ${failures.length} failed, ${skipped} skipped (mini-program)\n`;
}
