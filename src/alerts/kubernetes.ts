// Group aiaas.kubernetes: memory, crash loops and unavailable replicas of the platform's pods.
import { ALERT_PREFIX, AlertRecord, AlertSeverity } from './alert-record';
import { pct } from './_rules';
import { kubectl, workload } from './runbook-context';
import { gauge, Series, singleScenarios, timing } from './scenario';

export const KUBERNETES_GROUP = 'aiaas.kubernetes';

export const KUBERNETES_ALERTS: AlertRecord[] = [
  {
    name: `${ALERT_PREFIX}ContainerMemoryHigh`,
    group: KUBERNETES_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'memoryRatio',
    build: (c) => {
      const t = c.m.thresholds.memoryRatio;
      return {
        expr:
          `sum by (namespace, pod, container) (${c.m.metrics.containerMemoryWorkingSetBytes}{${c.nsm}, container!="", image!=""})` +
          ` / sum by (namespace, pod, container) (${c.m.metrics.kubePodContainerResourceLimits}{${c.nsm}, resource="memory"}) > ${t}`,
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} is near its memory limit.',
        description: `Container {{ $labels.container }} of pod {{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }} of its memory limit; threshold ${pct(t)} for ${c.for}.`,
        threshold: t,
        thresholdText: `working set > ${pct(t)} of limit`,
      };
    },
    procedure: (ctx) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['A container uses most of its memory limit', 'OOM kills and restarts may follow'],
        actions: [
          '# POD and CONTAINER: the labels of the alert',
          `${k} top pods --containers`,
          `${k} exec -it "$POD" -c "$CONTAINER" -- ps aux`,
          `${k} describe pod "$POD" | grep -A 5 -i "last state"`,
          '',
          '# Restart the high-memory pod (its Deployment recreates it)',
          `${k} delete pod "$POD"`,
        ].join('\n'),
        recovery: ['Raise `resources.memoryLimit` of the service in the platform config if the usage is legitimate.', 'Otherwise look for a leak (memory growing steadily between restarts).'],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const container = { namespace, pod: 'api-gateway-blue-abc12', container: 'api-gateway' };
      const limit = 512 * 1024 * 1024;
      return singleScenarios(
        rule,
        (r) => [
          { metric: m.metrics.containerMemoryWorkingSetBytes, labels: { ...container, image: 'ghcr.io/aiaas/api-gateway:1.0.0' }, values: gauge(r * limit) },
          { metric: m.metrics.kubePodContainerResourceLimits, labels: { ...container, resource: 'memory', unit: 'byte' }, values: gauge(limit) },
        ],
        container,
      );
    },
  },
  {
    name: `${ALERT_PREFIX}PodCrashLooping`,
    group: KUBERNETES_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'crashLooping',
    build: (c) => ({
      expr: `max_over_time(${c.m.metrics.kubePodContainerStatusWaitingReason}{${c.nsm}, reason="CrashLoopBackOff"}[${c.w}]) >= 1`,
      summary: 'Pod {{ $labels.pod }} is crash looping.',
      description: `Container {{ $labels.container }} of pod {{ $labels.pod }} in {{ $labels.namespace }} has been in CrashLoopBackOff for ${c.for} (waiting: {{ $value }}).`,
      threshold: 1,
      thresholdText: 'container waiting in CrashLoopBackOff',
    }),
    procedure: (ctx) => {
      const k = kubectl(ctx);
      return {
        symptoms: ['A container restarts repeatedly (CrashLoopBackOff)'],
        actions: [
          '# POD and CONTAINER: the labels of the alert',
          `${k} get pods`,
          `${k} describe pod "$POD" | tail -30`,
          `${k} logs "$POD" -c "$CONTAINER" --previous --tail=200`,
        ].join('\n'),
        recovery: ['If a new image crashes: roll back (see [Blue-green deployment](#blue-green-deployment)).', `If a Secret or config is missing, the pod's events name it: \`${k} describe pod "$POD" | grep -i -E "secret|configmap"\` (Secrets are never listed: \`get secrets\` returns their values).`],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const labels = { namespace, pod: 'orchestrator-blue-abc12', container: 'orchestrator', reason: 'CrashLoopBackOff' };
      return singleScenarios(rule, (v) => [{ metric: m.metrics.kubePodContainerStatusWaitingReason, labels, values: gauge(v) }], labels, 1, 0);
    },
  },
  {
    name: `${ALERT_PREFIX}DeploymentReplicasUnavailable`,
    group: KUBERNETES_GROUP,
    severity: AlertSeverity.WARNING,
    key: 'deploymentUnavailable',
    build: (c) => {
      const deployments = `${c.m.metrics.kubeDeploymentStatusReplicasUnavailable}{${c.nsm}} > 0`;
      if (!c.inputs.argoRollouts) {
        return {
          expr: deployments,
          summary: 'Deployment {{ $labels.deployment }} has unavailable replicas.',
          description: `Deployment {{ $labels.deployment }} in {{ $labels.namespace }} has {{ $value }} unavailable replicas for ${c.for}.`,
          threshold: 0,
          thresholdText: 'unavailable replicas > 0',
        };
      }
      // kube-state-metrics knows no Rollouts; the Argo Rollouts controller does. Its
      // `rollout_info_replicas_unavailable` counts a blue-green's preview and scaled-down-later
      // ReplicaSets (status.replicas - availableReplicas), so it would fire on every promotion:
      // desired minus the active ReplicaSet's available replicas is what serving lacks.
      const byRollout = (metric: string) => `max by (namespace, rollout) (label_replace(${metric}{${c.nsm}}, "rollout", "$1", "name", "(.+)"))`;
      return {
        expr: `(${byRollout(c.m.metrics.rolloutInfoReplicasDesired)} - ${byRollout(c.m.metrics.rolloutInfoReplicasAvailable)} > 0) or (${deployments})`,
        summary: '{{ with $labels.rollout }}Rollout {{ . }}{{ else }}Deployment {{ $labels.deployment }}{{ end }} has unavailable replicas.',
        description: `{{ with $labels.rollout }}Rollout {{ . }}{{ else }}Deployment {{ $labels.deployment }}{{ end }} in {{ $labels.namespace }} has {{ $value }} unavailable replicas for ${c.for}.`,
        threshold: 0,
        thresholdText: 'unavailable replicas > 0 (Rollouts: desired - available of the active ReplicaSet)',
        scope: { services: [], argoRollouts: true },
      };
    },
    procedure: (ctx) => {
      const k = kubectl(ctx);
      return {
        symptoms: [ctx.services.some((s) => s.rollout) ? 'A Rollout (its active ReplicaSet) or a Deployment has fewer available replicas than desired' : 'A Deployment has fewer available replicas than desired'],
        actions: [
          ...new Set(ctx.services.map((s) => workload(ctx, s).list)),
          ...ctx.services.map((s) => workload(ctx, s).status('30s')),
          `${k} get events --sort-by=.metadata.creationTimestamp | tail -30`,
        ].join('\n'),
        recovery: ['Pending pods: check node capacity and PodDisruptionBudgets.', 'A stuck rollout of a new revision: roll it back (see [Blue-green deployment](#blue-green-deployment)).'],
      };
    },
    scenarios: (rule, { m, namespace }) => {
      const labels = { namespace, deployment: 'api-gateway-blue' };
      const deployment = singleScenarios(rule, (v) => [{ metric: m.metrics.kubeDeploymentStatusReplicasUnavailable, labels, values: gauge(v) }], labels, 1, 0);
      if (!rule.scope.argoRollouts) {
        return deployment;
      }
      // The Argo Rollouts controller's series, as scraped with honorLabels (README "Alerts").
      const rollout = { namespace, name: 'api-gateway' };
      const replicas = (desired: number, available: number): Series[] => [
        { metric: m.metrics.rolloutInfoReplicasDesired, labels: rollout, values: gauge(desired) },
        { metric: m.metrics.rolloutInfoReplicasAvailable, labels: rollout, values: gauge(available) },
      ];
      const expected = { namespace, rollout: 'api-gateway' };
      return {
        firing: [
          { name: 'a Rollout with 1 of 2 replicas available', series: replicas(2, 1), expected: [expected], ...timing(rule) },
          { name: 'a Rollout with no replica available', series: replicas(2, 0), expected: [expected], ...timing(rule) },
          ...deployment.firing,
        ],
        silent: [
          // During a promotion the preview and the old ReplicaSet add pods that are not "available": no alert.
          { name: 'a Rollout with every desired replica available', series: replicas(2, 2), expected: [], ...timing(rule) },
          { name: 'a Rollout with more available than desired (scale-down in progress)', series: replicas(2, 3), expected: [], ...timing(rule) },
          ...deployment.silent,
        ],
      };
    },
  },
];
