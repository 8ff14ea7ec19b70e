// Counts a vitest run for the closing summary line. Plain functions over the few members of vitest's
// reported tasks that they read, so test/harness/run-summary.test.ts can check them without a run.

export interface ReportedTest {
  result(): { state: string };
}

export interface ReportedSuite {
  errors(): ReadonlyArray<unknown>;
}

export interface ReportedModule extends ReportedSuite {
  children: { allTests(): Iterable<ReportedTest>; allSuites(): Iterable<ReportedSuite> };
}

export interface RunCounts {
  passed: number;
  /** Failed tests plus errors outside tests; never 0 when the run failed. */
  failed: number;
  skipped: number;
  /** Of `failed`: errors outside any test (a failing beforeAll/afterAll, an import error, an unhandled error). */
  outsideTests: number;
}

/**
 * A file whose `beforeAll` throws reports its tests as skipped and the error on the file or suite, and an
 * error after the tests (unhandled rejection, failing global teardown) belongs to no file: both count as
 * failures here. A run vitest calls failed for any other reason still counts one.
 */
export function countRun(
  modules: ReadonlyArray<ReportedModule>,
  unhandledErrors: ReadonlyArray<unknown>,
  reason: string,
): RunCounts {
  let passed = 0;
  let failedTests = 0;
  let skipped = 0;
  let outsideTests = unhandledErrors.length;
  for (const m of modules) {
    outsideTests += m.errors().length;
    for (const s of m.children.allSuites()) outsideTests += s.errors().length;
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedTests++;
      else skipped++;
    }
  }
  if (reason !== 'passed' && failedTests + outsideTests === 0) outsideTests = 1;
  return { passed, failed: failedTests + outsideTests, skipped, outsideTests };
}

/** "vitest: N passed, N failed[ (N outside tests)][, N skipped][; note]" */
export function summaryLine(c: RunCounts, note?: string): string {
  const outside = c.outsideTests ? ` (${c.outsideTests} outside tests)` : '';
  const skipped = c.skipped ? `, ${c.skipped} skipped` : '';
  return `vitest: ${c.passed} passed, ${c.failed} failed${outside}${skipped}${note ? `; ${note}` : ''}`;
}
