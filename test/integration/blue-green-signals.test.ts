// The proof that the blue-green signals measure what they claim, with promtool:
// each Argo analysis query (written as a rule, its threshold as in the
// AnalysisTemplate) passes a healthy preview and fails one over a threshold,
// whatever the other revision does; the per-colour recording rules of the
// watch window compute each colour alone.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { PlatformChart } from '../../src/constructs/platform-chart';
import { withRunbookUrl } from '../support/reference';

function promtool(args: string[], cwd: string): { status: number; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) {
    throw new Error(`cannot run promtool (${result.error.message}); install the Debian package 'prometheus'`);
  }
  return { status: result.status ?? -1, output: `${result.stdout}\n${result.stderr}` };
}

const chart = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl({ blueGreen: { engine: 'argo-rollouts' } }) });
const objects = chart.toJson() as any[];
const template = (name: string) => objects.find((o) => o.kind === 'AnalysisTemplate' && o.metadata.name === name);
const NEW = 'f00dcafe12';
const OLD = '0ldbeef345';

/** The analysis' Prometheus metrics, the revision argument as Argo substitutes it, as pass/fail alert rules. */
function analysisRules(templateName: string): any[] {
  return template(templateName)
    .spec.metrics.filter((m: any) => m.provider.prometheus)
    .flatMap((m: any) => {
      const query = m.provider.prometheus.query.replaceAll('{{args.revision}}', NEW);
      const threshold = Number(/result\[0\] > ([0-9.]+)$/.exec(m.failureCondition)![1]);
      const name = m.name.replace(/(^|-)([a-z0-9])/g, (_: string, _d: string, c: string) => c.toUpperCase());
      return [
        { alert: `${name}Fails`, expr: `(${query}) > ${threshold}` },
        { alert: `${name}Passes`, expr: `(${query}) <= ${threshold}` },
      ];
    });
}

/** Ten minutes of traffic of one revision: requests per minute by code, and latency buckets. */
function revisionSeries(revision: string, perMinute: { ok: number; errors: number }, latency: 'fast' | 'slow'): any[] {
  const labels = (extra: string) => `{namespace="aiaas", service="api-gateway", revision="${revision}", ${extra}}`;
  const counter = (rate: number) => `0+${rate}x15`;
  const total = perMinute.ok + perMinute.errors;
  const buckets: Record<string, number> = latency === 'fast' ? { '0.5': total, '1': total, '2.5': total, '+Inf': total } : { '0.5': total * 0.1, '1': total * 0.2, '2.5': total * 0.5, '+Inf': total };
  return [
    { series: `http_requests_total${labels('code="200"')}`, values: counter(perMinute.ok) },
    ...(perMinute.errors > 0 ? [{ series: `http_requests_total${labels('code="500"')}`, values: counter(perMinute.errors) }] : []),
    ...Object.entries(buckets).map(([le, n]) => ({ series: `http_request_duration_seconds_bucket${labels(`le="${le}"`)}`, values: counter(n) })),
  ];
}

describe.each(['api-gateway-pre-promotion', 'api-gateway-post-promotion'])('AnalysisTemplate %s, proven with promtool', (name) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-analysis-'));
  const rules = analysisRules(name);

  test('the queries are valid PromQL (promtool check rules)', () => {
    expect(rules.map((r) => r.alert)).toEqual(['ErrorRatioFails', 'ErrorRatioPasses', 'LatencyP95Fails', 'LatencyP95Passes']);
    fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups: [{ name: 'analysis', rules }] }));
    const run = promtool(['check', 'rules', 'rules.yml'], dir);
    expect(run.output).toContain('SUCCESS: 4 rules found');
    expect(run.status).toBe(0);
  });

  test.each<[string, any[], string[]]>([
    ['a healthy preview (1% errors, fast) passes, beside a failing old revision', [...revisionSeries(NEW, { ok: 99, errors: 1 }, 'fast'), ...revisionSeries(OLD, { ok: 50, errors: 50 }, 'slow')], ['ErrorRatioPasses', 'LatencyP95Passes']],
    ['a preview without any error passes (0, not an empty result)', revisionSeries(NEW, { ok: 100, errors: 0 }, 'fast'), ['ErrorRatioPasses', 'LatencyP95Passes']],
    ['a preview over the error threshold (10%) fails', revisionSeries(NEW, { ok: 90, errors: 10 }, 'fast'), ['ErrorRatioFails', 'LatencyP95Passes']],
    ['a preview over the latency threshold (P95 2.5 s > 2 s) fails', revisionSeries(NEW, { ok: 100, errors: 0 }, 'slow'), ['ErrorRatioPasses', 'LatencyP95Fails']],
    ['no traffic of the new revision measures nothing (the condition decides: pass before, inconclusive after)', revisionSeries(OLD, { ok: 50, errors: 50 }, 'slow'), []],
  ])('%s', (_case, series, firing) => {
    fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups: [{ name: 'analysis', rules }] }));
    const file = `case-${Math.random().toString(36).slice(2)}.yml`;
    const all = ['ErrorRatioFails', 'ErrorRatioPasses', 'LatencyP95Fails', 'LatencyP95Passes'];
    fs.writeFileSync(
      path.join(dir, file),
      YAML.stringify({
        rule_files: ['rules.yml'],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: series,
            alert_rule_test: all.map((alertname) => ({ eval_time: '10m', alertname, exp_alerts: firing.includes(alertname) ? [{ exp_labels: {} }] : [] })),
          },
        ],
      }),
    );
    const run = promtool(['test', 'rules', file], dir);
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });
});

describe('per-colour recording rules of the watch window, proven with promtool', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-colors-'));
  const reference = new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl() }).toJson() as any[];
  const rule = reference.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === 'aiaas-color-signals');
  fs.writeFileSync(path.join(dir, 'rules.yml'), YAML.stringify({ groups: rule.spec.groups }));

  test('promtool check rules', () => {
    const run = promtool(['check', 'rules', 'rules.yml'], dir);
    expect(run.output).toContain('SUCCESS: 4 rules found');
  });

  test('each colour and each revision is measured alone', () => {
    const series = (color: string, revision: string, ok: number, errors: number, slow: boolean) => {
      const l = (extra: string) => `{namespace="aiaas", service="api-gateway", color="${color}", revision="${revision}", ${extra}}`;
      const total = ok + errors;
      return [
        { series: `http_requests_total${l('code="200"')}`, values: `0+${ok}x15` },
        ...(errors ? [{ series: `http_requests_total${l('code="503"')}`, values: `0+${errors}x15` }] : []),
        { series: `http_request_duration_seconds_bucket${l('le="0.5"')}`, values: `0+${slow ? 0 : total}x15` },
        { series: `http_request_duration_seconds_bucket${l('le="5"')}`, values: `0+${total}x15` },
        { series: `http_request_duration_seconds_bucket${l('le="+Inf"')}`, values: `0+${total}x15` },
      ];
    };
    const sample = (labels: Record<string, string>, value: number) => ({ labels: `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`, value });
    const test = {
      interval: '1m',
      input_series: [...series('blue', 'aaaa', 100, 0, false), ...series('green', 'bbbb', 80, 20, true)],
      promql_expr_test: [
        {
          expr: 'round(aiaas:http_error_ratio:by_color * 100)',
          eval_time: '10m',
          exp_samples: [sample({ color: 'blue', namespace: 'aiaas', service: 'api-gateway' }, 0), sample({ color: 'green', namespace: 'aiaas', service: 'api-gateway' }, 20)],
        },
        {
          // Only green is slow: its P95 falls in the (0.5, 5] bucket, 0.5 + 4.5 × 0.95.
          expr: 'round(aiaas:http_latency_p95_seconds:by_color, 0.001) > 2',
          eval_time: '10m',
          exp_samples: [sample({ color: 'green', namespace: 'aiaas', service: 'api-gateway' }, 4.775)],
        },
        {
          expr: 'round(aiaas:http_error_ratio:by_revision * 100)',
          eval_time: '10m',
          exp_samples: [sample({ revision: 'aaaa', namespace: 'aiaas', service: 'api-gateway' }, 0), sample({ revision: 'bbbb', namespace: 'aiaas', service: 'api-gateway' }, 20)],
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'colors.yml'), YAML.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: [test] }));
    const run = promtool(['test', 'rules', 'colors.yml'], dir);
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });
});
