// Group aiaas.tools: failing tool calls and open circuit breakers (TOOL_DOWN).
import { ALERT_PREFIX, AlertBuildContext, AlertDefinition, AlertRecord, AlertSeverity, IncidentCode, Procedure } from './alert-record';
import { pct } from './_rules';
import { externalApiChecks, inlineLive, logs, curlVia, port, roles, RunbookContext, RunbookService, workload } from './runbook-context';
import { AlertScenarios, counter, gauge, ScenarioEnv, singleScenarios } from './scenario';


export const TOOLS_GROUP = 'aiaas.tools';

/** The seed's TOOL_DOWN procedure. */
function toolDownProcedure(ctx: RunbookContext): Procedure {
  const { gateway, orchestrator, tools } = roles(ctx);
  return {
    symptoms: ['Tool calls failing', 'Circuit breakers open for specific tools', 'High error rates in tool metrics'],
    actions: [
      '# 1. Check tool service health',
      curlVia(ctx, tools.service, port(tools), tools.healthPath ?? '/health'),
      '',
      '# 2. Check tool logs',
      `${logs(ctx, tools, '15m')} | grep -i -E "error|circuit"`,
      '',
      '# 3. Check external API status, from a pod with the tool service\'s egress (its app label; Pod Security "restricted")',
      ...externalApiLines(ctx, tools),
      '',
      '# 4. Circuit breaker states as the edge sees them',
      curlVia(ctx, gateway.service, port(gateway), '/api/v1/health/circuit-breakers'),
      '',
      `# 5. Enable fallback mode: set toggles.fallbackMode: true in the platform config, synth, commit (GitOps).`,
      '#    Immediate change (reverted by the next sync unless the config is changed too):',
      ...workload(ctx, orchestrator).setEnv('FALLBACK_MODE', 'true'),
    ].join('\n'),
    recovery: [
      'If the external API is down: keep fallback mode (cached responses) on until it recovers.',
      `If ${tools.name} itself is down: \`${inlineLive(ctx, workload(ctx, tools).restart().join('; '))}\` and check its dependencies (postgres, redis).`,
      `Monitor circuit breaker recovery (the alert resolves when the breaker leaves the open state); reset if needed: port-forward svc/${gateway.service} and \`curl -X POST http://localhost:${port(gateway)}/api/v1/circuit-breakers/reset\`.`,
      'Turn fallback mode off again in the config once tools are healthy.',
    ],
  };
}

/** One check per configured health URL, or where to configure them. */
function externalApiLines(ctx: RunbookContext, tools: RunbookService): string[] {
  const checks = externalApiChecks(ctx, tools);
  return checks.length > 0 ? checks : ['#    (no URL configured: list the external APIs\' health URLs in monitoring.externalApiHealthUrls and synth)'];
}

// `tool` copies the breaker's `name`, so an open breaker inhibits the tool-error alert of the same tool.
const breakerOpen = (c: AlertBuildContext) =>
  `label_replace(max by (namespace, service, name) (${c.m.metrics.circuitBreakerState}{${c.nsm}, state="${c.m.labelValues.circuitBreakerOpenState}"}), "tool", "$1", "name", "(.+)") > 0`;

/** An open (1) or closed (0) breaker of orchestrator → web-search. */
function breakerScenarios(rule: AlertDefinition, { m, namespace }: ScenarioEnv): AlertScenarios {
  const breaker = { namespace, service: 'orchestrator', name: 'web-search' };
  return singleScenarios(
    rule,
    (open) => [
      { metric: m.metrics.circuitBreakerState, labels: { ...breaker, state: m.labelValues.circuitBreakerOpenState }, values: gauge(open) },
      { metric: m.metrics.circuitBreakerState, labels: { ...breaker, state: 'closed' }, values: gauge(1 - open) },
    ],
    { ...breaker, tool: 'web-search' },
    1,
    0,
  );
}

export const TOOLS_ALERTS: AlertRecord[] = [
  {
    name: `${ALERT_PREFIX}ToolCallErrors`,
    group: TOOLS_GROUP,
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TOOL_DOWN,
    key: 'toolErrorRatio',
    build: (c) => {
      const t = c.m.thresholds.toolErrorRatio;
      const calls = c.m.metrics.toolCallsTotal;
      return {
        expr:
          `sum by (namespace, tool) (rate(${calls}{${c.nsm}, outcome!="${c.m.labelValues.toolSuccessOutcome}"}[${c.w}]))` +
          ` / sum by (namespace, tool) (rate(${calls}{${c.nsm}}[${c.w}])) > ${t}`,
        summary: 'Tool {{ $labels.tool }} calls are failing (TOOL_DOWN).',
        description: `{{ $value | humanizePercentage }} of the calls to tool {{ $labels.tool }} in {{ $labels.namespace }} fail; threshold ${pct(t)} for ${c.for}.`,
        threshold: t,
        thresholdText: `failed tool calls > ${pct(t)} per tool`,
      };
    },
    procedure: toolDownProcedure,
    scenarios: (rule, { m, namespace }) =>
      singleScenarios(
        rule,
        (r) => [
          { metric: m.metrics.toolCallsTotal, labels: { namespace, tool: 'web-search', outcome: m.labelValues.toolSuccessOutcome }, values: counter((1 - r) * 1000) },
          { metric: m.metrics.toolCallsTotal, labels: { namespace, tool: 'web-search', outcome: 'error' }, values: counter(r * 1000) },
        ],
        { namespace, tool: 'web-search' },
      ),
  },
  {
    name: `${ALERT_PREFIX}CircuitBreakerOpen`,
    group: TOOLS_GROUP,
    // An open breaker fails the calls of its tool on purpose: the tool-error alert is its symptom.
    inhibits: { alerts: [`${ALERT_PREFIX}ToolCallErrors`], equal: ['namespace', 'tool'] },
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.TOOL_DOWN,
    key: 'circuitBreakerOpen',
    build: (c) => ({
      expr: breakerOpen(c),
      summary: 'Circuit breaker {{ $labels.name }} of {{ $labels.service }} is open (TOOL_DOWN).',
      description: `The circuit breaker {{ $labels.name }} of {{ $labels.service }} in {{ $labels.namespace }} has been open for ${c.for} (state value {{ $value }}).`,
      threshold: 1,
      thresholdText: `breaker state ${c.m.labelValues.circuitBreakerOpenState}`,
    }),
    procedure: toolDownProcedure,
    scenarios: breakerScenarios,
  },
  {
    name: `${ALERT_PREFIX}CircuitBreakerOpenTooLong`,
    group: TOOLS_GROUP,
    // An open breaker fails the calls of its tool on purpose: the tool-error alert is its symptom.
    inhibits: { alerts: [`${ALERT_PREFIX}ToolCallErrors`], equal: ['namespace', 'tool'] },
    severity: AlertSeverity.CRITICAL,
    incident: IncidentCode.TOOL_DOWN,
    key: 'circuitBreakerOpenTooLong',
    build: (c) => ({
      expr: breakerOpen(c),
      summary: `Circuit breaker {{ $labels.name }} of {{ $labels.service }} has been open for more than ${c.for} (TOOL_DOWN).`,
      description: `The circuit breaker {{ $labels.name }} of {{ $labels.service }} in {{ $labels.namespace }} has not recovered for ${c.for} (state value {{ $value }}); the dependency behind it is down.`,
      threshold: 1,
      thresholdText: `breaker state ${c.m.labelValues.circuitBreakerOpenState} for > ${c.for}`,
    }),
    procedure: toolDownProcedure,
    scenarios: breakerScenarios,
  },
];
