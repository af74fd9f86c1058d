// Metrics of one run, pushed to a Prometheus Pushgateway (job `aiaas_job`,
// grouping label `task`) with POST, so that a failed run does not erase the
// last-success timestamp of the previous good run.
import { Gauge, Pushgateway, Registry } from 'prom-client';
import type { Logger } from './logger';

export const PUSH_JOB = 'aiaas_job';

export class Metrics {
  public readonly registry = new Registry();
  private readonly gauges = new Map<string, Gauge<string>>();

  /** Get or create a gauge of this run. */
  public gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
    let g = this.gauges.get(name);
    if (!g) {
      g = new Gauge({ name, help, labelNames, registers: [this.registry] });
      this.gauges.set(name, g);
    }
    return g;
  }

  public set(name: string, help: string, value: number, labels: Record<string, string> = {}): void {
    this.gauge(name, help, Object.keys(labels)).set(labels, value);
  }

  /** The metrics every task reports. */
  public recordRun(exitCode: number, durationSeconds: number, findings: number, now: Date): void {
    const t = now.getTime() / 1000;
    this.set('aiaas_job_duration_seconds', 'Duration of the last run', durationSeconds);
    this.set('aiaas_job_findings', 'Findings beyond a threshold in the last run', findings);
    this.set('aiaas_job_exit_code', 'Exit code of the last run (0 ok, 1 finding, 2 error)', exitCode);
    this.set('aiaas_job_last_run_timestamp_seconds', 'End of the last run, success or not', t);
    if (exitCode !== 2) {
      this.set('aiaas_job_last_success_timestamp_seconds', 'End of the last run that did its work (exit 0 or 1)', t);
    }
  }

  public async push(url: string, task: string, log: Logger): Promise<void> {
    const gateway = new Pushgateway(url, { timeout: 10000 }, this.registry);
    await gateway.pushAdd({ jobName: PUSH_JOB, groupings: { task } });
    log.debug({ task }, 'metrics pushed');
  }
}
