// Group aiaas.jobs: the scheduled database jobs and the backup. Job rules exist
// once per CronJob; in the group they come first, CronJob by CronJob.
import { ALERT_PREFIX, AlertDefinition, AlertRecord, AlertSeverity } from './alert-record';
import { escapeRegex } from './_rules';
import { cronJobBlocks, kubectl } from './runbook-context';
import { gauge, Series, timing } from './scenario';

export const JOBS_GROUP = 'aiaas.jobs';

/** A constant timestamp whose age at fireAt is threshold +/- 60s (above it from t = 0 when firing). */
function ageSeries(rule: AlertDefinition, metric: string, labels: Record<string, string>, fire: boolean): Series {
  const c = fire ? -(rule.threshold + 60) : timing(rule).fireAt - rule.threshold + 60;
  return { metric, labels, values: gauge(c) };
}

/** A CronJob's last-success timestamp (kube-state-metrics) of that age. */
function cronAge(rule: AlertDefinition, metric: string, namespace: string, fire: boolean): Series {
  return ageSeries(rule, metric, { namespace, cronjob: rule.scope.cronJob! }, fire);
}

/** Labels of a metric the backup pushes (grouping labels of src/jobs/metrics.ts). */
function pushedLabels(namespace: string, task = 'backup'): Record<string, string> {
  return { job: 'aiaas_job', task, namespace };
}

/** What to look at when the off-cluster copy is in doubt: the backup's log and the bucket's settings. */
function offsiteActions(ctx: Parameters<AlertRecord['procedure']>[0], rules: AlertDefinition[]) {
  const k = kubectl(ctx);
  return cronJobBlocks(ctx, rules, (c) => [
    `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`,
    `${k} logs job/"$JOB_NAME" | grep -E 'upload|bucket'   # JOB_NAME: the latest backup Job`,
    `${k} get cronjob ${c} -o jsonpath='{.spec.jobTemplate.spec.template.spec.containers[0].args}'`,
    `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`,
  ]);
}

export const JOBS_ALERTS: AlertRecord[] = [
  {
    // Only the latest finished run of each CronJob counts (kube-prometheus' KubeJobFailed
    // runbook: a failed Job otherwise keeps the alert firing until its TTL deletes it).
    // A later run that succeeds resolves it; a run still in progress does not.
    name: `${ALERT_PREFIX}DatabaseJobFailed`,
    group: JOBS_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'jobFailed',
    each: 'cronJob',
    build: (c, job) => {
      const mt = c.m.metrics;
      const runs = `${c.nsm}, job_name=~"${escapeRegex(job.name)}-([0-9]+|manual-.+)"`;
      const failed = `${mt.kubeJobFailed}{${runs}, condition="true"}`;
      const finishedStarts =
        `(${mt.kubeJobStatusStartTime}{${runs}} and on (namespace, job_name) (${failed} == 1 or ${mt.kubeJobComplete}{${runs}, condition="true"} == 1))`;
      const latestFinished = `(${finishedStarts} == on (namespace) group_left () max by (namespace) (${finishedStarts}))`;
      return {
        expr: `${failed} > 0 and on (namespace, job_name) ${latestFinished}`,
        extraLabels: { cronjob: job.name, task: job.task },
        summary: `Scheduled database job ${job.task} failed.`,
        description: `Job {{ $labels.job_name }}, the latest finished run of CronJob ${job.name} (task ${job.task}) in {{ $labels.namespace }}, failed ({{ $value }} failed Job); it resolves when a later run succeeds.`,
        threshold: 0,
        thresholdText: 'the latest finished run of the CronJob failed',
        scope: { services: [], cronJob: job.name, task: job.task },
      };
    },
    procedure: (ctx, rules) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['The latest finished run of a scheduled database job ended in failure'],
        actions: cronJobBlocks(ctx, rules, (c) => [
          `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`,
          `${k} logs job/"$JOB_NAME" --tail=200   # JOB_NAME: the job_name label of the alert`,
          `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`,
        ]),
        recovery: [
          'Fix the cause shown in the job log, then re-run it with the `create job` command above.',
          'The alert resolves when a later run (scheduled or manual) succeeds; a run still in progress keeps it firing.',
          `Keep the failed Job for its logs until then; deleting it (\`${k} delete job "$JOB_NAME"\`) also resolves the alert.`,
        ],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const cron = rule.scope.cronJob!;
      const older = `${cron}-28900000`;
      const latest = `${cron}-28900060`;
      const later = `${cron}-manual-1733000000`;
      /** A finished run: started at `start` (unix s), failed or complete from `from` minutes on. */
      const run = (jobName: string, start: number, outcome: 'failed' | 'complete', from = 0): Series[] => {
        const present = (v: number) => (from > 0 ? `_x${from} ${gauge(v)}` : gauge(v));
        const labels = { namespace, job_name: jobName };
        return [
          { metric: m.metrics.kubeJobStatusStartTime, labels, values: present(start) },
          { metric: m.metrics.kubeJobFailed, labels: { ...labels, condition: 'true' }, values: present(outcome === 'failed' ? 1 : 0) },
          { metric: m.metrics.kubeJobComplete, labels: { ...labels, condition: 'true' }, values: present(outcome === 'complete' ? 1 : 0) },
        ];
      };
      const running = (jobName: string, start: number, from: number): Series[] => [
        { metric: m.metrics.kubeJobStatusStartTime, labels: { namespace, job_name: jobName }, values: `_x${from} ${gauge(start)}` },
        { metric: m.metrics.kubeJobFailed, labels: { namespace, job_name: jobName, condition: 'true' }, values: `_x${from} ${gauge(0)}` },
        { metric: m.metrics.kubeJobComplete, labels: { namespace, job_name: jobName, condition: 'true' }, values: `_x${from} ${gauge(0)}` },
      ];
      const firing = { namespace, job_name: latest, condition: 'true' };
      const t = timing(rule);
      // The later run appears at minute 20; checks at minute 30.
      const afterLater = 30 * 60;
      return {
        firing: [
          { name: 'latest run failed after an older success', series: [...run(older, 100, 'complete'), ...run(latest, 200, 'failed')], expected: [firing], ...t },
          {
            name: 'latest run failed, resolved by a later successful run',
            series: [...run(older, 100, 'complete'), ...run(latest, 200, 'failed'), ...run(later, 300, 'complete', 20)],
            expected: [firing],
            ...t,
            checks: [{ at: afterLater, expected: [] }],
          },
          {
            name: 'latest run failed, a later run still in progress',
            series: [...run(latest, 200, 'failed'), ...running(later, 300, 20)],
            expected: [firing],
            ...t,
            checks: [{ at: afterLater, expected: [firing] }],
          },
        ],
        silent: [
          { name: 'an older run failed, the latest succeeded', series: [...run(older, 100, 'failed'), ...run(latest, 200, 'complete')], expected: [], ...t },
        ],
      };
    },
  },
  {
    name: `${ALERT_PREFIX}DatabaseJobNotSucceeding`,
    group: JOBS_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'cronJobStale',
    each: 'cronJob',
    // The backup's age has its own, critical alert below.
    build: (c, job) =>
      job.name === c.inputs.backupCronJob?.name
        ? undefined
        : {
          expr: `time() - ${c.m.metrics.kubeCronjobStatusLastSuccessfulTime}{${c.nsm}, cronjob="${job.name}"} > ${job.maxAgeSeconds}`,
          extraLabels: { task: job.task },
          summary: `Scheduled database job ${job.task} has not succeeded recently.`,
          description: `CronJob ${job.name} (task ${job.task}) in {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago; allowed ${job.maxAgeSeconds}s.`,
          threshold: job.maxAgeSeconds,
          thresholdText: `last success > ${job.maxAgeSeconds}s ago`,
          scope: { services: [], cronJob: job.name, task: job.task },
        },
    procedure: (ctx, rules) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['A scheduled database job has not succeeded within its schedule'],
        actions: cronJobBlocks(ctx, rules, (c) => [`${k} get cronjob ${c}`, `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`, `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`]),
        recovery: ['Check the CronJob is not suspended (`.spec.suspend`) and that its Jobs can be scheduled.'],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const cronjob = rule.scope.cronJob!;
      const metric = m.metrics.kubeCronjobStatusLastSuccessfulTime;
      return {
        firing: [{ name: 'last success too old', series: [cronAge(rule, metric, namespace, true)], expected: [{ namespace, cronjob }], ...timing(rule) }],
        silent: [{ name: 'last success recent', series: [cronAge(rule, metric, namespace, false)], expected: [], ...timing(rule) }],
      };
    },
  },
  {
    name: `${ALERT_PREFIX}BackupTooOld`,
    group: JOBS_GROUP,
    severity: AlertSeverity.CRITICAL,
    key: 'backupStale',
    build: (c) => {
      const b = c.inputs.backupCronJob;
      if (!b) {
        return undefined;
      }
      const series = `${c.m.metrics.kubeCronjobStatusLastSuccessfulTime}{${c.nsm}, cronjob="${b.name}"}`;
      return {
        expr: `(time() - ${series} > ${b.maxAgeSeconds}) or absent(${series})`,
        extraLabels: { task: 'backup' },
        summary: `The database backup (${b.name}) is older than allowed, or missing.`,
        description: `CronJob ${b.name} in {{ $labels.namespace }} last succeeded {{ $value | humanizeDuration }} ago (or has never been seen succeeding, value 1); allowed ${b.maxAgeSeconds}s.`,
        threshold: b.maxAgeSeconds,
        thresholdText: `last successful backup > ${b.maxAgeSeconds}s ago, or no series`,
        scope: { services: [], cronJob: b.name, task: 'backup' },
      };
    },
    procedure: (ctx, rules) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['The last successful backup is older than the schedule allows, or kube-state-metrics reports no backup CronJob at all'],
        actions: cronJobBlocks(ctx, rules, (c) => [`${k} get cronjob ${c}`, `${k} get jobs --sort-by=.metadata.creationTimestamp | grep ${c}`, `${k} create job --from=cronjob/${c} ${c}-manual-$(date +%s)`]),
        recovery: [`Check the backup volume has space (\`${k} get pvc\`).`, 'If the CronJob is missing, re-apply the platform manifests.'],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const cronjob = rule.scope.cronJob!;
      const metric = m.metrics.kubeCronjobStatusLastSuccessfulTime;
      const omit = [metric];
      return {
        firing: [
          { name: 'last backup too old', series: [cronAge(rule, metric, namespace, true)], omit, expected: [{ namespace, cronjob }], ...timing(rule) },
          { name: 'backup series absent', series: [], omit, expected: [{ namespace, cronjob }], ...timing(rule) },
        ],
        silent: [{ name: 'last backup recent', series: [cronAge(rule, metric, namespace, false)], omit, expected: [], ...timing(rule) }],
      };
    },
  },
  {
    // Pushed by the backup after each run: 0 when the local backup is complete but its copy
    // in the bucket failed (a finding of the run, exit 1). It stays until the next run pushes.
    name: `${ALERT_PREFIX}OffsiteBackupUploadFailed`,
    group: JOBS_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'offsiteUploadFailed',
    build: (c) => {
      const cron = c.inputs.offsiteBackupCronJob;
      if (!cron) {
        return undefined;
      }
      return {
        expr: `${c.m.metrics.backupBucketUploadOk}{${c.nsm}, task="backup"} == 0`,
        extraLabels: { cronjob: cron },
        summary: 'The last backup was not copied to the bucket (off-cluster copy failed).',
        description: `The latest run of CronJob ${cron} in {{ $labels.namespace }} made a complete backup on the volume, but uploading it to the bucket failed; losing the namespace or the volume would lose it. It resolves when a later backup is uploaded and checked.`,
        threshold: 0,
        thresholdText: 'aiaas_backup_bucket_upload_ok == 0 (last upload failed)',
        scope: { services: [], cronJob: cron, task: 'backup' },
      };
    },
    procedure: (ctx, rules) => ({
      symptoms: ['The backup on the volume is complete, but its copy in the bucket failed (finding `bucket_upload_failed` in the backup report)'],
      actions: offsiteActions(ctx, rules),
      recovery: [
        'The log names the cause: wrong or expired keys (the bucket credentials Secret), a missing bucket, the endpoint unreachable (egress CIDR/port in `dbMaintenance.backupBucket`), or a checksum mismatch after upload.',
        'Fix it, then run a backup by hand (the `create job` command above); the alert resolves when that upload is checked.',
      ],
    }),
    scenarios: (rule, { m, namespace }) => {
      const metric = m.metrics.backupBucketUploadOk;
      const labels = pushedLabels(namespace);
      return {
        firing: [{ name: 'last upload failed', series: [{ metric, labels, values: gauge(0) }], expected: [labels], ...timing(rule) }],
        silent: [
          { name: 'last upload ok', series: [{ metric, labels, values: gauge(1) }], expected: [], ...timing(rule) },
          { name: 'upload failed in another namespace', series: [{ metric, labels: pushedLabels(`${namespace}-other`), values: gauge(0) }], expected: [], ...timing(rule) },
        ],
      };
    },
  },
  {
    // The newest good backup in the bucket, as the backup (or restore-verify) last saw it. Absent
    // (no good copy ever pushed) also fires: the off-cluster copy is what survives losing the cluster.
    name: `${ALERT_PREFIX}OffsiteBackupTooOld`,
    group: JOBS_GROUP,
    severity: AlertSeverity.CRITICAL,
    key: 'offsiteBackupAgeSeconds',
    build: (c) => {
      const cron = c.inputs.offsiteBackupCronJob;
      if (!cron) {
        return undefined;
      }
      const max = c.m.thresholds.offsiteBackupAgeSeconds;
      const series = `${c.m.metrics.backupBucketNewestTimestamp}{${c.nsm}}`;
      return {
        expr: `(time() - max by (namespace) (${series}) > ${max}) or absent(${series})`,
        extraLabels: { cronjob: cron },
        summary: 'The newest off-cluster backup (in the bucket) is older than allowed, or missing.',
        description: `The newest good backup in the bucket of CronJob ${cron} in {{ $labels.namespace }} was made {{ $value | humanizeDuration }} ago (or none was ever reported, value 1); allowed ${max}s.`,
        threshold: max,
        thresholdText: `newest good backup in the bucket > ${max}s old, or no series`,
        scope: { services: [], cronJob: cron, task: 'backup' },
      };
    },
    procedure: (ctx, rules) => ({
      symptoms: ['The newest good backup in the bucket is older than `monitoring.thresholds.offsiteBackupAgeSeconds`, or no backup run ever reported one'],
      actions: offsiteActions(ctx, rules),
      recovery: [
        'If AiaasOffsiteBackupUploadFailed or AiaasBackupTooOld fires too, fix that first: no new backup means no new copy.',
        'No series at all: check the backup runs with `--bucket` and that the Pushgateway is scraped with `honor_labels: true` (the `namespace` label comes from the job).',
        'Run a backup by hand (the `create job` command above) and check its report lists the uploaded objects.',
      ],
    }),
    scenarios: (rule, { m, namespace }) => {
      const metric = m.metrics.backupBucketNewestTimestamp;
      const omit = [metric];
      const expected = [{ namespace }];
      return {
        firing: [
          { name: 'newest copy too old', series: [ageSeries(rule, metric, pushedLabels(namespace), true)], omit, expected, ...timing(rule) },
          {
            name: 'newest copy too old, as backup and restore-verify both report',
            series: [ageSeries(rule, metric, pushedLabels(namespace), true), ageSeries(rule, metric, pushedLabels(namespace, 'restore-verify'), true)],
            omit,
            expected,
            ...timing(rule),
          },
          { name: 'no off-cluster backup reported', series: [], omit, expected, ...timing(rule) },
        ],
        silent: [
          { name: 'newest copy recent', series: [ageSeries(rule, metric, pushedLabels(namespace), false)], omit, expected: [], ...timing(rule) },
          {
            name: 'restore-verify saw a recent copy the backup run did not report',
            series: [ageSeries(rule, metric, pushedLabels(namespace), true), ageSeries(rule, metric, pushedLabels(namespace, 'restore-verify'), false)],
            omit,
            expected: [],
            ...timing(rule),
          },
        ],
      };
    },
  },
];
