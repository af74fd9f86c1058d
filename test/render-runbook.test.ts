import { parseMonitoringConfig } from '../src/config/monitoring-config';
import { alertDefinitions } from '../src/alerts/definitions';
import { headingAnchor } from '../src/alerts/anchors';
import { alertsTableMarkdown, renderRunbook, RunbookContext } from '../src/runbook/render-runbook';
import { RUNBOOK_URL } from './support/reference';

const SERVICES = ['api-gateway', 'orchestrator', 'tool-service', 'realtime-service'];
const CRON_JOBS = [
  { task: 'vacuum-analyze', name: 'db-vacuum-analyze', schedule: '0 3 * * 0', maxAgeSeconds: 8 * 86400 },
  { task: 'backup', name: 'db-backup', schedule: '0 2 * * *', maxAgeSeconds: 26 * 3600 },
];

function context(namespace = 'aiaas', monitoringInput: unknown = {}): RunbookContext {
  const monitoring = parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL, ...(monitoringInput as object) });
  const alerts = alertDefinitions({
    namespace,
    services: SERVICES,
    monitoring,
    cronJobs: CRON_JOBS,
    backupCronJob: { name: 'db-backup', maxAgeSeconds: 26 * 3600 },
    database: { statefulSet: 'postgres' },
  });
  return {
    namespace,
    services: SERVICES.map((name, i) => ({
      name,
      activeColor: i === 1 ? 'green' : 'blue',
      idleColor: i === 1 ? 'blue' : 'green',
      service: name,
      previewService: `${name}-preview`,
      deployments: { blue: `${name}-blue`, green: `${name}-green` },
      smokeTestJob: i === 0 ? `${name}-smoke-0123abcd` : undefined,
    })),
    database: { statefulSet: 'postgres', pod: 'postgres-0', database: 'aiaas' },
    cronJobs: CRON_JOBS.map(({ task, name, schedule }) => ({ task, name, schedule })),
    alerts,
    escalation: monitoring.escalation,
  };
}

/** The anchors GitHub gives the headings of a markdown document (first occurrence). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inCode = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) {
      inCode = !inCode;
    } else if (!inCode && /^#{1,6} /.test(line)) {
      anchors.add(headingAnchor(line.replace(/^#+ /, '')));
    }
  }
  return anchors;
}

describe('renderRunbook', () => {
  const ctx = context();
  const md = renderRunbook(ctx);

  test('every runbook_url anchor resolves to a heading', () => {
    const anchors = headingAnchors(md);
    for (const alert of ctx.alerts) {
      const anchor = alert.runbookUrl.split('#')[1];
      expect(anchors).toContain(anchor);
    }
  });

  test('every internal link resolves to a heading', () => {
    const anchors = headingAnchors(md);
    const links = [...md.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) {
      expect(anchors).toContain(link);
    }
  });

  test('one section per alert with symptoms, immediate actions, recovery and escalation', () => {
    for (const name of new Set(ctx.alerts.map((a) => a.name))) {
      const start = md.indexOf(`### ${name}\n`);
      expect(start).toBeGreaterThan(0);
      const section = md.slice(start, md.indexOf('\n### ', start + 1));
      for (const part of ['**Symptoms:**', '**Immediate actions:**', '**Recovery:**', '**Escalation:**']) {
        expect(section).toContain(part);
      }
    }
  });

  test('commands use the real namespace, Deployments, Services, pod and CronJobs', () => {
    expect(md).toContain('kubectl -n aiaas rollout restart deployment/api-gateway-blue');
    expect(md).toContain('kubectl -n aiaas rollout restart deployment/orchestrator-green');
    expect(md).toContain('kubectl -n aiaas set env deployment/orchestrator-green FALLBACK_MODE=true');
    expect(md).toContain('kubectl -n aiaas scale deployment realtime-service-blue --replicas=3');
    expect(md).toContain('kubectl -n aiaas exec -it postgres-0 -- psql -U postgres -d aiaas -c "SELECT count(*) FROM pg_stat_activity;"');
    expect(md).toContain('kubectl -n aiaas create job --from=cronjob/db-backup db-backup-manual-$(date +%s)');
    expect(md).toContain('kubectl -n aiaas create job --from=cronjob/db-vacuum-analyze db-vacuum-analyze-manual-$(date +%s)');
    expect(md).toContain(`kubectl -n aiaas patch service api-gateway -p '{"spec":{"selector":{"app":"api-gateway","version":"green"}}}'`);
    expect(md).toContain('kubectl -n aiaas wait --for=condition=complete job/api-gateway-smoke-0123abcd --timeout=5m');
    expect(md).toContain('kubectl -n aiaas port-forward svc/api-gateway-preview 8000:8000');
    // Every kubectl command names the namespace, except the cluster-scoped ones.
    const kubectl = md.split('\n').filter((l) => /(^|\s)kubectl /.test(l) && !l.includes('kubectl -n aiaas'));
    expect(kubectl.filter((l) => !/kubectl (describe nodes|top nodes)/.test(l))).toEqual([]);
  });

  test('lists the exit codes of aiaas-job, usage errors apart from failures to run', () => {
    expect(md).toContain('- `2` could not do its work');
    expect(md).toContain('- `64` usage error');
  });

  test('follows the namespace of the deployment', () => {
    const other = renderRunbook(context('staging'));
    expect(other).toContain('kubectl -n staging rollout restart deployment/api-gateway-blue');
    expect(other).not.toMatch(/-n aiaas\b/);
  });

  test('lists the escalation levels with contacts, and no phone numbers or secret contents', () => {
    expect(md).toContain('| 2 | 15m | Senior engineer (secondary pager) | `aiaas-senior` |');
    expect(md).toContain('| 3 | 30m | Engineering manager | `aiaas-manager` |');
    expect(md).not.toMatch(/\+?1-555-01\d\d/);
    expect(md).not.toMatch(/get secrets? \S+ .*-o yaml/);
    expect(md).not.toContain('routing-key');
  });

  test('the alerts table links every alert to its section', () => {
    const table = alertsTableMarkdown(ctx.alerts);
    expect(table).toContain('| [AiaasHighLatencyP95](#aiaashighlatencyp95) | p95 latency > 2s | 5m | warning |  |');
    expect(table).toContain('| [AiaasResponseTimeCritical](#aiaasresponsetimecritical) | p99 response time > 5s | 2m | critical | TIMEOUT |');
    expect(table.split('\n')).toHaveLength(2 + new Set(ctx.alerts.map((a) => a.name)).size);
  });

  test('commands an on-call can run as written: logs of every pod, amtool with its URL, no secrets listed', () => {
    expect(md).not.toMatch(/logs (-f )?deployment\//);
    expect(md).toContain('kubectl -n aiaas logs -l app=tool-service,version=blue --prefix --since=15m');
    expect(md).toContain('amtool --alertmanager.url=http://localhost:9093 alert query namespace=aiaas');
    expect(md).not.toMatch(/kubectl( -n \S+)? get secrets?\b/);
  });

  test('the DNS check pod passes Pod Security "restricted"', () => {
    const line = md.split('\n').find((l) => l.includes('run dns-check'))!;
    const overrides = JSON.parse(line.match(/--overrides='(.+)'$/)![1]);
    const [container] = overrides.spec.containers;
    expect(overrides.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.args).toEqual(['nslookup', 'api-gateway.aiaas.svc.cluster.local']);
  });

  test('WS_OVERLOAD raises the HorizontalPodAutoscaler bounds where one owns the replicas', () => {
    const base = context();
    const ctxHpa = { ...base, services: base.services.map((s) => (s.name === 'realtime-service' ? { ...s, autoscaling: { minReplicas: 3, maxReplicas: 10 } } : s)) };
    const out = renderRunbook(ctxHpa);
    expect(out).toContain(`kubectl -n aiaas patch hpa realtime-service-blue --type=merge -p '{"spec":{"minReplicas":10,"maxReplicas":20}}'`);
    expect(out).not.toContain('scale deployment realtime-service-blue');
  });

  test('per-service overrides appear in the runbook', () => {
    const out = renderRunbook(context('aiaas', { perService: { 'api-gateway': { latencyP95Seconds: 3 } } }));
    expect(out).toContain('- **Per-service thresholds:** api-gateway: 3');
  });

  test('each section is the procedure of the alert record', () => {
    const def = ctx.alerts.find((a) => a.name === 'AiaasPostgresDown')!;
    const p = def.record.procedure(ctx, [def]);
    const section = md.slice(md.indexOf('### AiaasPostgresDown\n'), md.indexOf('\n### ', md.indexOf('### AiaasPostgresDown\n') + 1));
    expect(section).toContain(p.actions);
    p.recovery.forEach((r) => expect(section).toContain(r));
  });

  test('fails if a named service does not exist', () => {
    expect(() => renderRunbook({ ...ctx, websocketService: 'ws' })).toThrow("runbook: unknown service 'ws'; expected one of api-gateway");
  });

  // dist/RUNBOOK.md (checked by the staleness test) is the golden copy of the whole file; one section here.
  test('the PostgresDown section is stable', () => {
    const start = md.indexOf('### AiaasPostgresDown\n');
    expect(md.slice(start, md.indexOf('\n### ', start + 1))).toMatchSnapshot();
  });
});

describe('restore in the cluster', () => {
  test('uses the restore CronJob, its target and the real database; absent without a restore job', () => {
    const md = renderRunbook({ ...context('prod'), restoreJob: { name: 'db-restore', targetDatabase: 'app_restored' } });
    const section = md.slice(md.indexOf('### Restore a backup in the cluster'), md.indexOf('## Troubleshooting'));
    expect(section).toContain('kubectl -n prod create job --from=cronjob/db-restore db-restore-manual-$(date +%s)\n');
    expect(section).toContain('into the new database app_restored (aiaas is not touched)');
    expect(section).toContain('"value":"--backup=aiaas-aiaas-YYYYMMDDTHHMMSSmmmZ.dump"');
    expect(section).toContain('  | kubectl -n prod create -f -');
    expect(section.split('\n').filter((l) => l.startsWith('```'))).toHaveLength(2); // one closed code block
    expect(renderRunbook(context('prod'))).not.toContain('### Restore a backup in the cluster');
  });
});
