// The closing summary line counts every way a run fails: failed tests, errors outside tests (a failing
// beforeAll/afterAll, a file that cannot be imported, unhandled errors) and runs vitest ended early.
import { describe, expect, it } from 'vitest';
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';
import { startVitest } from 'vitest/node';
import { countRun, type ReportedModule, summaryLine } from '../support/run-summary.ts';

const FIXTURES = new URL('./fixtures/failing-run/', import.meta.url).pathname;

const test = (state: string) => ({ result: () => ({ state }) });
const suite = (errors: unknown[] = []) => ({ errors: () => errors });
const module = (states: string[], errors: unknown[] = [], suiteErrors: unknown[] = []): ReportedModule => ({
  errors: () => errors,
  children: { allTests: () => states.map(test), allSuites: () => [suite(suiteErrors)] },
});

describe('countRun', () => {
  it('counts a file whose beforeAll threw as a failure, though its tests are reported skipped', () => {
    const counts = countRun(
      [module(['passed', 'passed']), module(['skipped', 'skipped'], [new Error('beforeAll')])],
      [],
      'failed',
    );
    expect(counts).toEqual({ passed: 2, failed: 1, skipped: 2, outsideTests: 1 });
    expect(summaryLine(counts)).toBe('vitest: 2 passed, 1 failed (1 outside tests), 2 skipped');
  });

  it('adds failed tests, suite errors and unhandled errors', () => {
    const counts = countRun(
      [module(['failed', 'passed'], [], [new Error('afterAll')])],
      [{ message: 'late rejection' }],
      'failed',
    );
    expect(counts).toEqual({ passed: 1, failed: 3, skipped: 0, outsideTests: 2 });
  });

  it('never says 0 failed for a failed run, even with nothing to count (a global setup that threw)', () => {
    expect(countRun([], [], 'failed').failed).toBe(1);
    expect(countRun([module(['passed'])], [], 'interrupted').failed).toBe(1);
    expect(summaryLine(countRun([module(['passed', 'skipped'])], [], 'passed'), 'browser tests skipped')).toBe(
      'vitest: 1 passed, 0 failed, 1 skipped; browser tests skipped',
    );
  });
});

describe('countRun on a real vitest run', () => {
  it('counts what vitest reports for hooks that throw, a file that throws on import and a failed test', async () => {
    let ended:
      | { modules: ReadonlyArray<TestModule>; errors: ReadonlyArray<SerializedError>; reason: TestRunEndReason }
      | undefined;
    const capture: Reporter = {
      onTestRunEnd(modules, errors, reason) {
        ended = { modules, errors, reason };
      },
    };
    const exitCode = process.exitCode;
    const vitest = await startVitest('test', [], {
      root: FIXTURES,
      config: false,
      include: ['*.fixture.ts'],
      watch: false,
      reporters: [capture],
    });
    await vitest.close();
    process.exitCode = exitCode;
    expect(ended?.reason).toBe('failed');
    const counts = countRun(ended!.modules, ended!.errors, ended!.reason);
    // Outside tests: beforeAll, afterAll, the import error. Skipped: the test under the failed beforeAll and
    // the one marked skip (the file that threw on import reports no tests).
    expect(counts).toEqual({ passed: 1, failed: 4, skipped: 2, outsideTests: 3 });
  });
});
