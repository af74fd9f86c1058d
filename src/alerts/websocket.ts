// Group aiaas.websocket: connections near the limit and backpressure drops (WS_OVERLOAD).
import { durationSeconds } from '../config/monitoring-config';
import { ALERT_PREFIX, AlertRecord, AlertSeverity, IncidentCode, Procedure } from './alert-record';
import { pct } from './_rules';
import { inlineLive, logs, kubectl, roles, RunbookContext, workload } from './runbook-context';
import { above, below, counter, gauge, Series, singleScenarios, timing } from './scenario';

export const WEBSOCKET_GROUP = 'aiaas.websocket';

/** The seed's WS_OVERLOAD procedure. */
function wsOverloadProcedure(ctx: RunbookContext): Procedure {
  const k = kubectl(ctx);
  const { ws } = roles(ctx);
  const w = workload(ctx, ws);
  return {
    symptoms: ['WebSocket connection failures', 'High backpressure drops', 'Memory usage spikes'],
    actions: [
      '# 1. Check WebSocket service status',
      `${k} get pods -l app=${ws.name}`,
      `${k} get hpa`,
      '',
      '# 2. Check the connection limit (WS_MAX_CONNECTIONS)',
      w.getEnv('WS_MAX_CONNECTIONS'),
      '',
      '# 3. Check memory usage',
      `${k} top pods -l app=${ws.name} --containers`,
      '',
      ...(ws.autoscaling
        ? [
          // The HPA owns the replica count: scaling the Deployment would be undone within seconds.
          `# 4. Scale out: raise the HorizontalPodAutoscaler's bounds (now ${ws.autoscaling.minReplicas}-${ws.autoscaling.maxReplicas}).`,
          '#    Emergency change: the next sync reverts it unless autoscaling.minReplicas/maxReplicas change in the config too.',
          `${k} patch hpa ${w.hpa} --type=merge -p '{"spec":{"minReplicas":${ws.autoscaling.maxReplicas},"maxReplicas":${ws.autoscaling.maxReplicas * 2}}}'`,
          `${k} get hpa ${w.hpa} --watch`,
        ]
        : ['# 4. Scale the WebSocket service', w.scale(3)]),
    ].join('\n'),
    recovery: [
      'Increase connection limits: `toggles.maxWebSocketConnections` in the platform config, then synth.',
      `Scale horizontally: raise \`autoscaling.minReplicas\`/\`maxReplicas\` of ${ws.name} in the config.`,
      `Check for connection leaks: connections that grow while traffic does not (\`${inlineLive(ctx, logs(ctx, ws, '30m'))} | grep -i -E "disconnect|leak|backpressure"\`).`,
    ],
  };
}

export const WEBSOCKET_ALERTS: AlertRecord[] = [
  {
    name: `${ALERT_PREFIX}WebSocketConnectionsNearLimit`,
    group: WEBSOCKET_GROUP,
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.WS_OVERLOAD,
    key: 'websocketConnectionsRatio',
    build: (c) => {
      const t = c.m.thresholds.websocketConnectionsRatio;
      return {
        expr:
          `sum by (namespace, service) (${c.m.metrics.websocketConnections}{${c.nsm}})` +
          ` / sum by (namespace, service) (${c.m.metrics.websocketMaxConnections}{${c.nsm}}) > ${t}`,
        summary: '{{ $labels.service }} WebSocket connections are near the maximum (WS_OVERLOAD).',
        description: `{{ $labels.service }} in {{ $labels.namespace }} holds {{ $value | humanizePercentage }} of its maximum WebSocket connections; threshold ${pct(t)} for ${c.for}.`,
        threshold: t,
        thresholdText: `connections > ${pct(t)} of max`,
      };
    },
    procedure: wsOverloadProcedure,
    scenarios: (rule, { m, namespace }) => {
      const pod = { namespace, service: 'realtime-service', pod: 'realtime-service-blue-1' };
      return singleScenarios(
        rule,
        (r) => [
          { metric: m.metrics.websocketConnections, labels: pod, values: gauge(r * 1000) },
          { metric: m.metrics.websocketMaxConnections, labels: pod, values: gauge(1000) },
        ],
        { namespace, service: 'realtime-service' },
      );
    },
  },
  {
    name: `${ALERT_PREFIX}WebSocketBackpressureDrops`,
    group: WEBSOCKET_GROUP,
    // The critical page covers the warning about the same drops.
    inhibits: { alerts: [`${ALERT_PREFIX}WebSocketMessagesDropped`], equal: ['namespace', 'service'] },
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.WS_OVERLOAD,
    key: 'websocketBackpressureDropsPerSecond',
    build: (c) => {
      const t = c.m.thresholds.websocketBackpressureDropsPerSecond;
      return {
        expr: `sum by (namespace, service) (rate(${c.m.metrics.websocketBackpressureDropsTotal}{${c.nsm}}[${c.w}])) > ${t}`,
        summary: '{{ $labels.service }} drops WebSocket messages under backpressure (WS_OVERLOAD).',
        description: `{{ $labels.service }} in {{ $labels.namespace }} drops {{ $value | humanize }} messages/s under backpressure; threshold ${t}/s for ${c.for}.`,
        threshold: t,
        thresholdText: `backpressure drops > ${t}/s`,
      };
    },
    procedure: wsOverloadProcedure,
    scenarios: (rule, { m, namespace }) => {
      // An absolute rate() only reaches its true value once the window is full of samples.
      const forSec = durationSeconds(rule.for);
      const warmup = durationSeconds(m.rateWindow);
      const late = { fireAt: warmup + forSec + 60, notYetAt: warmup + forSec - 60 };
      const drops = (perSecond: number): Series[] => [
        { metric: m.metrics.websocketBackpressureDropsTotal, labels: { namespace, service: 'realtime-service' }, values: counter(perSecond * 60) },
      ];
      return {
        firing: [{ name: 'just above', series: drops(above(rule.threshold)), expected: [{ namespace, service: 'realtime-service' }], ...late }],
        silent: [{ name: 'just below', series: drops(below(rule.threshold)), expected: [], ...late }],
      };
    },
  },
  {
    // Every dropped message is a user's message lost: any sustained drop warns, above the rate it is critical.
    name: `${ALERT_PREFIX}WebSocketMessagesDropped`,
    group: WEBSOCKET_GROUP,
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.WS_OVERLOAD,
    key: 'websocketMessagesDropped',
    build: (c) => ({
      expr: `sum by (namespace, service) (rate(${c.m.metrics.websocketBackpressureDropsTotal}{${c.nsm}}[${c.w}])) > 0`,
      summary: '{{ $labels.service }} drops WebSocket messages: users lose messages (WS_OVERLOAD).',
      description: `{{ $labels.service }} in {{ $labels.namespace }} has dropped messages under backpressure for ${c.for} ({{ $value | humanize }} messages/s); critical above ${c.m.thresholds.websocketBackpressureDropsPerSecond}/s.`,
      threshold: 0,
      thresholdText: 'any backpressure drop',
    }),
    procedure: wsOverloadProcedure,
    scenarios: (rule, { m, namespace }) => {
      const drops = (perMinute: number): Series[] => [
        { metric: m.metrics.websocketBackpressureDropsTotal, labels: { namespace, service: 'realtime-service' }, values: counter(perMinute) },
      ];
      return {
        // 6 drops a minute: far below the critical rate, still lost messages.
        firing: [{ name: 'a few drops a minute', series: drops(6), expected: [{ namespace, service: 'realtime-service' }], ...timing(rule) }],
        silent: [{ name: 'no drops', series: drops(0), expected: [], ...timing(rule) }],
      };
    },
  },
];
