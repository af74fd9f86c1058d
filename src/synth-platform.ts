// Builds the reference platform and writes it to an output directory atomically.
import * as fs from 'fs';
import * as path from 'path';
import { LoadPlatformConfigOptions, loadPlatformConfig } from './config/load-config';
import { PlatformApp } from './constructs/platform-app';
import { PlatformChart } from './constructs/platform-chart';
import { PreviousOutput } from './constructs/promotion-guard';

/** Id of the reference chart: cdk8s names its manifest `aiaas.k8s.yaml`. */
export const REFERENCE_CHART_ID = 'aiaas';

/**
 * The objects that hold data (Namespace, PersistentVolumeClaims), written apart from
 * the pruned set: `kubectl apply --prune` and `kubectl delete -f` of the main file never touch them.
 */
export const RETAINED_MANIFEST = `${REFERENCE_CHART_ID}-retained.k8s.yaml`;

export interface SynthPlatformOptions extends LoadPlatformConfigOptions {
  /** Directory replaced by the output. */
  readonly outdir: string;
  /**
   * Manifest file the promotion guard compares the new output with (a missing file: first synth, nothing guarded).
   * @default - `<outdir>/aiaas.k8s.yaml`, the output being replaced
   */
  readonly previousOutput?: string;
  /**
   * Called with each service whose `promotionOverride` overrode a guard rule, or overrode nothing (then it should be removed).
   * @default - no report
   */
  readonly onOverride?: (service: string, rules: string[]) => void;
  /**
   * Receives the line saying where the alerts' runbook_url points (see `PlatformApp`).
   * @default - no report
   */
  readonly log?: (line: string) => void;
}

/**
 * Loads the config, builds the chart, synthesizes into a staging directory and
 * swaps it into place. Any error leaves `outdir` untouched. Returns the files written.
 */
export function synthPlatform(options: SynthPlatformOptions): string[] {
  const config = loadPlatformConfig(options);
  const outdir = path.resolve(options.outdir);
  const staging = `${outdir}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    // The same writer as a consumer's app, into a staging directory swapped in whole.
    const app = new PlatformApp({ outdir: staging, log: (line) => options.log?.(line.split(staging).join(options.outdir)) });
    const previousOutput = PreviousOutput.fromFile(options.previousOutput ?? path.join(options.outdir, `${REFERENCE_CHART_ID}.k8s.yaml`));
    const chart = new PlatformChart(app, REFERENCE_CHART_ID, { config, previousOutput });
    const overridden = chart.overriddenPromotionRules();
    for (const service of config.services.filter((s) => s.promotionOverride)) {
      options.onOverride?.(service.name, overridden[service.name] ?? []);
    }
    app.synth();
    replaceDirectory(staging, outdir);
  } catch (error) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return fs.readdirSync(outdir).sort().map((f) => path.join(options.outdir, f));
}

function replaceDirectory(source: string, target: string): void {
  const previous = `${target}.previous-${process.pid}`;
  if (fs.existsSync(target)) {
    fs.renameSync(target, previous);
  }
  fs.renameSync(source, target);
  fs.rmSync(previous, { recursive: true, force: true });
}
