import { parseMonitoringConfig } from '../src/config/monitoring-config';
import { alertDefinitions } from '../src/alerts/definitions';
import { headingAnchor } from '../src/alerts/anchors';
import { inlineLive, withLiveLookups, workload } from '../src/alerts/runbook-context';
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
    expect(md).toContain('kubectl -n aiaas rollout restart deployment/api-gateway-$API_GATEWAY_COLOR');
    // The colour is read from the Service when the block runs; the header says what it was at synth time.
    expect(md).toContain('kubectl -n aiaas rollout restart deployment/orchestrator-$ORCHESTRATOR_COLOR');
    expect(md).toContain('# orchestrator (deployment orchestrator-$ORCHESTRATOR_COLOR: the colour its Service selects now; green at synth time)');
    expect(md).toContain('kubectl -n aiaas set env deployment/orchestrator-$ORCHESTRATOR_COLOR FALLBACK_MODE=true');
    expect(md).toContain('kubectl -n aiaas scale deployment realtime-service-$REALTIME_SERVICE_COLOR --replicas=3');
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
    expect(other).toContain('kubectl -n staging rollout restart deployment/api-gateway-$API_GATEWAY_COLOR');
    expect(other).toContain("API_GATEWAY_COLOR=$(kubectl -n staging get service api-gateway -o jsonpath='{.spec.selector.version}')");
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
    expect(md).toContain('kubectl -n aiaas logs -l app=tool-service,version=$TOOL_SERVICE_COLOR --prefix --since=15m');
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
    expect(out).toContain(`kubectl -n aiaas patch hpa realtime-service-$REALTIME_SERVICE_COLOR --type=merge -p '{"spec":{"minReplicas":10,"maxReplicas":20}}'`);
    expect(out).not.toContain('scale deployment realtime-service-');
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

/** One section of a rendered runbook: from its heading to the next heading of the same or a higher level (outside code). */
function section(md: string, heading: string): string {
  const lines = md.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no heading '${heading}'`);
  const level = heading.match(/^#+/)![0].length;
  let inCode = false;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i].startsWith('```')) inCode = !inCode;
    else if (!inCode && new RegExp(`^#{1,${level}} `).test(lines[i])) {
      end = i;
      break;
    }
  }
  return lines.slice(start, end).join('\n');
}

describe('issue 12.2: what the seed has that the generated runbook lost', () => {
  const base = context();
  const watched: RunbookContext = {
    ...base,
    services: base.services.map((s) => ({ ...s, watch: { errorRatio: s.name === 'api-gateway' ? 0.02 : 0.05, latencyP95Seconds: 2 } })),
    prometheusUrl: 'http://prometheus-operated.observability.svc:9090',
    grafanaUrl: 'http://grafana.observability.svc',
  };
  const md = renderRunbook(watched);

  test('the three checklists, listed in the contents, with the seed\'s items', () => {
    expect(md).toContain('- [Checklists](#checklists)');
    const lists = section(md, '## Checklists');
    for (const [heading, items] of [
      ['### Pre-deployment checklist', ['All tests passing', 'Security scan completed', 'Performance tests passed', 'Database migrations ready', 'Rollback plan prepared', 'Monitoring alerts configured']],
      ['### Post-deployment checklist', ['Health checks passing', 'Metrics normal', 'No error spikes', 'Performance within SLA', 'User acceptance testing', 'Documentation updated']],
      ['### Incident response checklist', ['Incident identified and logged', 'Impact assessed', 'Team notified', 'Root cause analysis started', 'Fix implemented', 'Monitoring for recurrence', 'Post-incident review scheduled']],
    ] as const) {
      const list = section(lists, heading);
      expect(list.split('\n').filter((l) => l.startsWith('- [ ] ')).map((l) => l.slice(6).split(':')[0])).toEqual(items);
    }
  });

  test('pre-deployment: the backup\'s age against its alert, the loaded rule groups, the new colour and its smoke Job', () => {
    const pre = section(md, '### Pre-deployment checklist');
    expect(pre).toContain('# Newest successful backup (CronJob db-backup) and its age; AiaasBackupTooOld fires above 93600s');
    expect(pre).toContain(`LAST=$(kubectl -n aiaas get cronjob db-backup -o jsonpath='{.status.lastSuccessfulTime}'); echo "$LAST: $(( $(date +%s) - $(date -d "$LAST" +%s) ))s ago"`);
    expect(pre).toContain('kubectl -n observability port-forward svc/prometheus-operated 9090:9090 >/dev/null & PF=$!; sleep 2');
    expect(pre).toContain(`curl -fsS 'http://localhost:9090/api/v1/rules' | jq -r '.data.groups[] | select(.name | startswith("aiaas.")) | [.name, (.rules | length), .file] | @tsv'`);
    expect(pre).toContain('Prometheus has loaded the platform\'s rule groups (aiaas.http, aiaas.tools,');
    // The colour being deployed is each service's idle one.
    expect(pre).toContain('kubectl -n aiaas rollout status deployment/api-gateway-green --timeout=10m');
    expect(pre).toContain('kubectl -n aiaas rollout status deployment/orchestrator-blue --timeout=10m');
    expect(pre).toContain('kubectl -n aiaas wait --for=condition=complete job/api-gateway-smoke-0123abcd --timeout=5m');
  });

  test('post-deployment: the per-colour signals over each service\'s own thresholds, the alerts, Grafana through a port-forward', () => {
    const post = section(md, '### Post-deployment checklist');
    expect(post).toContain(`curl -fsS -G --data-urlencode 'query=aiaas:http_error_ratio:by_color{namespace="aiaas", service="api-gateway"} > 0.02' 'http://localhost:9090/api/v1/query'`);
    expect(post).toContain(`'query=aiaas:http_latency_p95_seconds:by_color{namespace="aiaas", service="realtime-service"} > 2'`);
    expect(post).toContain(`curl -fsS 'http://localhost:9090/api/v1/alerts' | jq -r '.data.alerts[] | select(.labels.namespace == "aiaas")`);
    // Port 80 would need root on the workstation.
    expect(post).toContain('kubectl -n observability port-forward svc/grafana 8080:80 >/dev/null & PF=$!; sleep 2\ncurl -fsS \'http://localhost:8080/api/health\'\nkill $PF');
    expect(post.split('\n')[post.split('\n').indexOf('```bash') + 1]).toBe('# Roles: aiaas-oncall, monitoring namespace access');
  });

  test('incident response: the alerts from Alertmanager, Prometheus and Grafana; Escalation runs the same checks', () => {
    const incident = section(md, '### Incident response checklist');
    expect(incident).toContain('amtool --alertmanager.url=http://localhost:9093 alert query namespace=aiaas');
    expect(incident).toContain('# Prometheus alerts (http://prometheus-operated.observability.svc:9090): name, state, since, service');
    expect(incident).toContain('escalation.flapTolerance` (5m)');
    expect(section(md, '## Escalation')).toContain('curl -fsS \'http://localhost:8080/api/health\'');
  });

  test('a monitoring URL outside the cluster is curled directly; without URLs there is no Prometheus or Grafana command', () => {
    const direct = renderRunbook({ ...watched, prometheusUrl: 'https://prometheus.example.com/', grafanaUrl: undefined });
    expect(direct).toContain(`curl -fsS 'https://prometheus.example.com/api/v1/alerts' | jq`);
    expect(direct).not.toContain('port-forward svc/prometheus');
    expect(direct).not.toContain('/api/health');
    const none = renderRunbook(base);
    expect(none).not.toMatch(/api\/v1\/(alerts|rules|query)|\/api\/health/);
    expect(none).not.toContain('monitoring namespace access');
  });

  test('TOOL_DOWN checks each external API from a restricted pod with the tool service\'s label, or says where to configure them', () => {
    const urls = ['https://api.search.example.com/health', 'https://api.weather.example.com/status'];
    const out = renderRunbook({ ...base, externalApiHealthUrls: urls, curlImage: 'registry.example.com/curl:8.10.1' });
    const tool = section(out, '### AiaasToolCallErrors');
    const runs = tool.split('\n').filter((l) => l.includes(' run external-api-check '));
    expect(runs).toHaveLength(2);
    runs.forEach((line, i) => {
      expect(line).toMatch(/^kubectl -n aiaas run external-api-check --rm -i --restart=Never --image=registry\.example\.com\/curl:8\.10\.1 --labels=app=tool-service --overrides='/);
      const spec = JSON.parse(line.match(/--overrides='(.+)'$/)![1]).spec;
      expect(spec.containers[0].args).toEqual(['--fail', '--silent', '--show-error', '--max-time', '10', '--output', '/dev/null', '--write-out', '%{http_code} %{url_effective}\\n', urls[i]]);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    });
    expect(tool).toContain('# 3. Check external API status');
    expect(section(md, '### AiaasToolCallErrors')).toContain("(no URL configured: list the external APIs' health URLs in monitoring.externalApiHealthUrls and synth)");
  });

  test('secret rotation: every Secret with its field, keys and readers; a new Secret from files, the password through \\password; no value printed', () => {
    const secrets = [
      { secret: 'postgres-credentials', field: 'secrets.databaseCredentials', keys: ['username', 'password'], deployments: ['orchestrator-blue', 'orchestrator-green'], cronJobs: [], database: { usernameKey: 'username', passwordKey: 'password' } },
      { secret: 'backup-bucket', field: 'dbMaintenance.backupBucket.credentialsSecret.secret', keys: ['access-key-id', 'secret-access-key'], deployments: [], cronJobs: ['db-backup', 'db-restore'] },
    ];
    const out = renderRunbook({ ...base, secrets });
    expect(out).toContain('- [Secret rotation](#secret-rotation)');
    const rotation = section(out, '## Secret rotation');
    expect(rotation).toContain('| `postgres-credentials` | `secrets.databaseCredentials` | `username`, `password` | deployment orchestrator-blue, deployment orchestrator-green |');
    expect(rotation).toContain('| `backup-bucket` | `dbMaintenance.backupBucket.credentialsSecret.secret` | `access-key-id`, `secret-access-key` | CronJob db-backup, CronJob db-restore |');
    const db = section(rotation, '### Rotate postgres-credentials');
    expect(db).toContain('# Roles: aiaas-oncall, aiaas-database-operator, applier (break-glass)');
    expect(db).toContain('kubectl -n aiaas create secret generic postgres-credentials-v2 --from-file=username=./username --from-file=password=./password');
    expect(db).toContain(`{ cat ./password; echo; cat ./password; echo; } | kubectl -n aiaas exec -i postgres-0 -- psql -U postgres -d aiaas -c "\\\\password \\"$(cat ./username)\\""`);
    expect(db).toContain("kubectl -n aiaas get deployment orchestrator-green -o jsonpath='{..secretKeyRef.name}'; echo");
    expect(db).toContain('kubectl -n aiaas delete secret postgres-credentials');
    const bucket = section(rotation, '### Rotate backup-bucket');
    expect(bucket).not.toContain('\\password');
    expect(bucket).toContain('JOB=db-backup-rotation-$(date +%s); kubectl -n aiaas create job --from=cronjob/db-backup $JOB');
    // Restarts for a Secret rewritten in place; never a command that prints a Secret.
    expect(rotation).toContain('kubectl -n aiaas rollout restart deployment/orchestrator-green');
    expect(out).not.toMatch(/kubectl( -n \S+)? get secrets?\b|--from-literal|echo \$\w*PASS/i);
    expect(renderRunbook(base)).not.toContain('Secret rotation');
  });

  test('restore: the backups kept, a chosen one, the bucket only with one, the replace with owners given back; linked from PostgresDown', () => {
    const withRestore = { ...base, restoreJob: { name: 'db-restore', targetDatabase: 'aiaas_restored' } };
    const plain = section(renderRunbook(withRestore), '### Restore a backup in the cluster');
    expect(plain).toContain(`JOB=$(kubectl -n aiaas get jobs -l app.kubernetes.io/component=backup --sort-by=.metadata.creationTimestamp -o jsonpath='{range .items[?(@.status.succeeded)]}{.metadata.name}{"\\n"}{end}' | tail -1)`);
    expect(plain).toContain(`kubectl -n aiaas logs job/$JOB | jq -r '(.data.kept[]? | "volume \\(.)"), (.data.offsite.kept[]? | "bucket \\(.)")'`);
    expect(plain).not.toContain('--from-bucket');
    expect(plain).toContain(`OWNER=$(kubectl -n aiaas exec postgres-0 -- psql -U postgres -d aiaas -Atc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'aiaas'")`);
    expect(plain).toContain(`-c "ALTER DATABASE aiaas OWNER TO \\"$OWNER\\"" -c "REASSIGN OWNED BY \\"$RESTORER\\" TO \\"$OWNER\\""`);
    const bucket = section(renderRunbook({ ...withRestore, backupBucket: 's3://acme/aiaas/', restoreJob: { ...withRestore.restoreJob, fromBucket: true } }), '### Restore a backup in the cluster');
    expect(bucket).toContain('# 2b. From the off-cluster copy (s3://acme/aiaas/)');
    expect(bucket).toContain('"value":"--from-bucket=true"');
    // The CronJob restores from the bucket: a chosen backup of the volume says so last.
    expect(bucket).toContain('"value":"--backup=aiaas-aiaas-YYYYMMDDTHHMMSSmmmZ.dump"},\n      {"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--from-bucket=false"}');
    expect(section(renderRunbook(withRestore), '### AiaasPostgresDown')).toContain('(see [Restore a backup in the cluster](#restore-a-backup-in-the-cluster))');
    expect(section(renderRunbook(withRestore), '### Incident response checklist')).toContain('- [ ] Data lost or corrupted: [Restore a backup in the cluster](#restore-a-backup-in-the-cluster)');
  });
});

describe('live workload lookups (src/alerts/runbook-context.ts)', () => {
  const svc = (name: string) => ({ name, activeColor: 'blue', idleColor: 'green', service: name, previewService: `${name}-preview`, deployments: { blue: `${name}-blue`, green: `${name}-green` } });
  const ctx = { ...context(), services: [svc('api'), svc('api-color')] };

  test('a block gets the lookup of each variable it uses, once, and only those; a name that prefixes another is not confused', () => {
    const block = `${workload(ctx, ctx.services[1]).restart()[0]}\n`;
    const out = withLiveLookups(ctx, block);
    expect(out).toContain("API_COLOR_COLOR=$(kubectl -n aiaas get service api-color -o jsonpath='{.spec.selector.version}')");
    expect(out).not.toMatch(/^API_COLOR=/m);
    expect(out.endsWith(block)).toBe(true);
    expect(withLiveLookups(ctx, 'kubectl -n aiaas get pods\n')).toBe('kubectl -n aiaas get pods\n');
    expect(inlineLive(ctx, 'restart deployment/api-color-$API_COLOR_COLOR and api-$API_COLOR')).toBe(
      "restart deployment/api-color-$(kubectl -n aiaas get service api-color -o jsonpath='{.spec.selector.version}') and api-$(kubectl -n aiaas get service api -o jsonpath='{.spec.selector.version}')",
    );
  });

  test('fails if the colours\' Deployments are not <prefix>blue and <prefix>green, naming the service', () => {
    const odd = { ...svc('api'), deployments: { blue: 'api-a', green: 'api-b' } };
    expect(() => workload({ ...ctx, services: [odd] }, odd).restart()).toThrow(/deployments of 'api' \(api-a, api-b\) must be named <prefix>blue and <prefix>green/);
  });
});
