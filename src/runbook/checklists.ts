// The seed's three checklists (pre-deployment, post-deployment, incident response) with
// this deployment's commands wherever a step can be checked, and the monitoring checks
// ("check Prometheus alerts", "check Grafana") they and the Escalation section share.
import { headingAnchor } from '../alerts/anchors';
import { ERROR_RATIO_BY_COLOR, LATENCY_P95_BY_COLOR } from '../alerts/signal-records';
import {
  idle, kubectl, monitoringCurl, MonitoringRequest, prometheusAlertsRequest, promQuery, RunbookContext, RunbookService,
} from '../alerts/runbook-context';

/** The firing and pending alerts of the namespace (Prometheus), Alertmanager's view, and Grafana's health. */
export function monitoringChecks(ctx: RunbookContext): string[] {
  return [
    '# Alerts of the namespace as Alertmanager sees them (port-forward to your monitoring stack)',
    `amtool --alertmanager.url=${ctx.alertmanagerUrl ?? 'http://localhost:9093'} alert query namespace=${ctx.namespace}`,
    ...(ctx.prometheusUrl ? [`# Prometheus alerts (${ctx.prometheusUrl}): name, state, since, service`, monitoringCurl(ctx.prometheusUrl, [prometheusAlertsRequest(ctx)])] : []),
    ...(ctx.grafanaUrl ? [`# Grafana dashboards (${ctx.grafanaUrl}): the database is "ok"`, monitoringCurl(ctx.grafanaUrl, [{ path: '/api/health' }])] : []),
    `${kubectl(ctx)} get events --sort-by=.metadata.creationTimestamp`,
  ];
}

/** Service names whose `by_color` signals are over their watch thresholds: prints only the offenders (empty output is good). */
function signalRequests(ctx: RunbookContext): MonitoringRequest[] {
  return ctx.services
    .filter((s): s is RunbookService & { watch: NonNullable<RunbookService['watch']> } => s.watch !== undefined)
    .flatMap((s) => {
      const sel = `{namespace="${ctx.namespace}", service="${s.name}"}`;
      return [
        promQuery(`${ERROR_RATIO_BY_COLOR}${sel} > ${s.watch.errorRatio}`, ['service', 'color']),
        promQuery(`${LATENCY_P95_BY_COLOR}${sel} > ${s.watch.latencyP95Seconds}`, ['service', 'color']),
      ];
    });
}

/** How old the newest successful backup is, from the backup CronJob's status (nothing to install). */
function backupAge(ctx: RunbookContext): string[] {
  const backup = ctx.cronJobs.find((j) => j.task === 'backup');
  if (!backup) return [];
  const tooOld = ctx.alerts.find((a) => a.scope.cronJob === backup.name && a.name.endsWith('BackupTooOld'));
  return [
    `# Newest successful backup (CronJob ${backup.name}) and its age${tooOld ? `; ${tooOld.name} fires above ${tooOld.threshold}s` : ''}`,
    `LAST=$(${kubectl(ctx)} get cronjob ${backup.name} -o jsonpath='{.status.lastSuccessfulTime}'); echo "$LAST: $(( $(date +%s) - $(date -d "$LAST" +%s) ))s ago"`,
  ];
}

function link(text: string, heading: string): string {
  return `[${text}](#${headingAnchor(heading)})`;
}

/** `## Checklists`: the seed's three, each checkable step with its command. */
export function checklistsSection(ctx: RunbookContext): string[] {
  const k = kubectl(ctx);
  const backup = ctx.cronJobs.find((j) => j.task === 'backup');
  const prom = ctx.prometheusUrl;
  const deployments = ctx.services.filter((s) => !s.rollout);
  const rollouts = ctx.services.filter((s) => s.rollout);
  const signals = signalRequests(ctx);
  const out: string[] = [
    '## Checklists',
    '',
    'Copy a list into the change or incident ticket; the commands below each list check the steps that can be checked.',
    '',
    '### Pre-deployment checklist',
    '',
    '- [ ] All tests passing: CI is green on the config change, and `npm run synth -- --config <file>` wrote `dist/` (the config validates and the promotion guard accepts the change; it writes nothing otherwise).',
    '- [ ] Security scan completed: the new images (`services[].images`) are scanned by your registry and pinned by digest (`imagePolicy.requireDigests: true` refuses tags).',
    '- [ ] Performance tests passed: your load test against the preview Service of the new colour.',
    `- [ ] Database migrations ready: backwards compatible (both colours use the same database during the switch), and a backup newer than the migration${backup ? ` (\`${backup.name}\` below)` : ''}.`,
    `- [ ] Rollback plan prepared: the service's "Roll back" commands in ${link('Blue-green deployment', 'Blue-green deployment')}; the old colour stays up (\`idleColorPolicy: keep\`) until the watch ends.`,
    `- [ ] Monitoring alerts configured: Prometheus has loaded the platform's rule groups (${[...new Set(ctx.alerts.map((a) => a.group))].join(', ')}) and nothing fires.`,
    '',
    '```bash',
    ...backupAge(ctx),
    ...(backup ? ['# A backup now, before a migration', `${k} create job --from=cronjob/${backup.name} ${backup.name}-manual-$(date +%s)`] : []),
    ...(prom
      ? [
          '# The rule groups Prometheus has loaded (name, rules, file of the PrometheusRule) and the alerts of the namespace',
          monitoringCurl(prom, [
            { path: '/api/v1/rules', then: ` | jq -r '.data.groups[] | select(.name | startswith("aiaas.")) | [.name, (.rules | length), .file] | @tsv'` },
            prometheusAlertsRequest(ctx),
          ]),
        ]
      : []),
    ...deployments.flatMap((s) => [
      `# ${s.name}: the new version runs in ${s.idleColor} and its smoke test passed`,
      `${k} rollout status deployment/${idle(s)} --timeout=10m`,
      ...(s.smokeTestJob ? [`${k} wait --for=condition=complete job/${s.smokeTestJob} --timeout=5m`] : []),
    ]),
    ...rollouts.map((s) => `# ${s.name}: Argo runs the pre-promotion analysis itself (${link('Blue-green deployment', 'Blue-green deployment')})`),
    '```',
    '',
    '### Post-deployment checklist',
    '',
    '- [ ] Health checks passing: every Deployment has its replicas ready, the smoke Jobs completed.',
    '- [ ] Metrics normal: no colour of any service is over its error-ratio or P95-latency threshold (the per-colour signals; the queries print only the offenders: no output is good).',
    '- [ ] No error spikes: no alert of the namespace fires or is pending.',
    '- [ ] Performance within SLA: the P95 query below, and the dashboards in Grafana.',
    '- [ ] User acceptance testing: by the service owners, on the new version.',
    '- [ ] Documentation updated: the config change is committed with `dist/` re-synthesized (this RUNBOOK included).',
    '',
    '```bash',
    `${k} get ${rollouts.length > 0 ? 'rollouts' : 'deployments'} -o wide`,
    `${k} get jobs --sort-by=.metadata.creationTimestamp`,
    ...(prom ? ['# Over threshold now (service, colour, value); empty output: all normal', monitoringCurl(prom, [...signals, prometheusAlertsRequest(ctx)])] : []),
    ...(ctx.grafanaUrl ? [monitoringCurl(ctx.grafanaUrl, [{ path: '/api/health' }])] : []),
    ...ctx.services.map((s) => `${k} logs -l app=${s.name} --prefix --since=15m --max-log-requests=10 | grep -i -c error`),
    '```',
    '',
    '### Incident response checklist',
    '',
    `- [ ] Incident identified and logged: the firing alert, its incident code (${link('Alerts', 'Alerts')} table) and its section of ${link('Alert procedures', 'Alert procedures')}.`,
    '- [ ] Impact assessed: which services and colours (pods not ready, the alerts\' `service` labels), since when (`activeAt`).',
    `- [ ] Team notified: Alertmanager pages \`${ctx.escalation.onCall.receiver}\`, then escalates (${link('Escalation', 'Escalation')}); never silence an alert nobody has understood.`,
    '- [ ] Root cause analysis started: events, logs of the failing service, the last changes (`kubectl rollout history`, the config repository\'s log).',
    '- [ ] Fix implemented: the alert\'s procedure; a lasting fix is a config change (synth, commit, apply): emergency patches are reverted by the next sync.',
    `- [ ] Monitoring for recurrence: the alert resolved and stays resolved (re-run the alerts check below; a dip shorter than \`escalation.flapTolerance\` (${ctx.escalation.flapTolerance}) still counts as firing).`,
    '- [ ] Post-incident review scheduled: in your tracker, with the timeline from Alertmanager.',
    ...(ctx.restoreJob ? [`- [ ] Data lost or corrupted: ${link('Restore a backup in the cluster', 'Restore a backup in the cluster')}, into a new database first.`] : []),
    '',
    '```bash',
    ...monitoringChecks(ctx),
    `${k} get pods -o wide`,
    '```',
    '',
  ];
  return out;
}
