// Metrics of one run, pushed to a Prometheus Pushgateway (job `aiaas_job`,
// grouping labels `task` and, in a pod, `namespace`) with POST, so that a failed run does not erase the
// last-success timestamp of the previous good run. Values are collected in a
// plain map; prom-client is loaded only when there is something to push, which
// keeps the start of the CLI short.
import type { Logger } from './logger';

export const PUSH_JOB = 'aiaas_job';

/**
 * The pod's namespace (downward API, set by the DbMaintenance construct). Pushed as the
 * `namespace` grouping label: the alerts match `namespace="…"`, and the Pushgateway's own
 * namespace would otherwise be all a scrape sees.
 */
export const NAMESPACE_ENV = 'AIAAS_JOB_NAMESPACE';

interface Series {
  readonly help: string;
  readonly labelNames: string[];
  readonly values: Map<string, { labels: Record<string, string>; value: number }>;
}

export class Metrics {
  private readonly series = new Map<string, Series>();

  public set(name: string, help: string, value: number, labels: Record<string, string> = {}): void {
    let s = this.series.get(name);
    if (!s) {
      s = { help, labelNames: Object.keys(labels), values: new Map() };
      this.series.set(name, s);
    }
    s.values.set(JSON.stringify(labels), { labels, value });
  }

  /** Current value of a metric without labels (for tests and reports). */
  public get(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.series.get(name)?.values.get(JSON.stringify(labels))?.value;
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

  /** Pushes under the grouping {task, namespace}; `namespace` is left out when unknown (outside a pod). */
  public async push(url: string, task: string, log: Logger, namespace: string | undefined = process.env[NAMESPACE_ENV]): Promise<void> {
    const { Gauge, Pushgateway, Registry } = await import('prom-client');
    const registry = new Registry();
    for (const [name, s] of this.series) {
      const g = new Gauge({ name, help: s.help, labelNames: s.labelNames, registers: [registry] });
      for (const { labels, value } of s.values.values()) g.set(labels, value);
    }
    const gateway = new Pushgateway(url, { timeout: 10000 }, registry);
    const groupings: Record<string, string> = namespace ? { task, namespace } : { task };
    await gateway.pushAdd({ jobName: PUSH_JOB, groupings });
    log.debug(groupings, 'metrics pushed');
  }
}
