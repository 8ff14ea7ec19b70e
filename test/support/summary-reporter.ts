// Prints one closing line CI can read: "vitest: N passed, N failed[, N skipped]" (run-summary.ts), with why
// tests were skipped when a global setup said so (AIDP_SKIPPED_NOTE, see test/browser/support/global-setup.ts).
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';
import { countRun, summaryLine } from './run-summary.ts';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    modules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    const note = process.env.AIDP_SKIPPED_NOTE || undefined;
    console.log(`\n${summaryLine(countRun(modules, unhandledErrors, reason), note)}`);
  }
}
