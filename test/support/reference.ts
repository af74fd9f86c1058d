// The config every test builds on: the reference platform has no default runbook URL
// (each platform publishes its own RUNBOOK.md), so tests give one explicitly.
import * as path from 'path';

/** The reference platform's committed config (`npm run synth` reads it; dist/ is built from it). */
export const REFERENCE_CONFIG_FILE = path.join(__dirname, '..', '..', 'platform.yaml');

/** A runbook URL for tests that build a platform of their own. */
export const RUNBOOK_URL = 'https://git.example.com/ops/platform/blob/main/dist/RUNBOOK.md';

/** The config with `monitoring.runbookBaseUrl` set (unless it sets its own); anything else is returned as is. */
export function withRunbookUrl<T>(config: T = {} as T): T {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return config;
  }
  const { monitoring } = config as { monitoring?: unknown };
  if (monitoring !== undefined && (typeof monitoring !== 'object' || monitoring === null || Array.isArray(monitoring))) {
    return config;
  }
  return { ...config, monitoring: { runbookBaseUrl: RUNBOOK_URL, ...(monitoring as object | undefined) } };
}
