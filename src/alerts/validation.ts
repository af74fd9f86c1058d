// Group aiaas.validation: requests rejected as invalid (VALIDATION_FAIL).
import { ALERT_PREFIX, AlertRecord, AlertSeverity, IncidentCode } from './alert-record';
import { pct, perServiceRule } from './_rules';
import { curlVia, logs, perServiceBlock, port, roles, scopeServices } from './runbook-context';
import { counter, perServiceScenarios, Series } from './scenario';

export const VALIDATION_GROUP = 'aiaas.validation';

export const VALIDATION_ALERTS: AlertRecord[] = [
  {
    name: `${ALERT_PREFIX}ValidationFailuresHigh`,
    group: VALIDATION_GROUP,
    severity: AlertSeverity.WARNING,
    incident: IncidentCode.VALIDATION_FAIL,
    key: 'validationFailureRatio',
    build: (c) =>
      perServiceRule(
        c,
        'validationFailureRatio',
        (sel) =>
          `sum by (namespace, service) (rate(${c.m.metrics.validationFailuresTotal}{${sel}}[${c.w}]))` +
          ` / sum by (namespace, service) (rate(${c.m.metrics.httpRequestsTotal}{${sel}}[${c.w}]))`,
        (thr, t) => ({
          summary: '{{ $labels.service }} rejects many requests as invalid (VALIDATION_FAIL).',
          description: `Validation failures are {{ $value | humanizePercentage }} of the requests to {{ $labels.service }} in {{ $labels.namespace }}; threshold ${thr(pct)} for ${c.for}.`,
          thresholdText: `validation failures > ${pct(t)} of requests`,
        }),
      ),
    procedure: (ctx, [rule]) => {
      const { gateway } = roles(ctx);
      const registry = (ctx.schemaRegistry ?? 'schema-registry:8080').split(':');
      const flags = (ctx.featureFlags ?? 'feature-flags:8000').split(':');
      return {
        symptoms: ['High validation error rates', 'Malformed requests being rejected', 'Schema validation failures'],
        actions: [
          '# 1. Check validation logs',
          perServiceBlock(scopeServices(ctx, rule), (s) => [`${logs(ctx, s, '15m')} | grep -i validation`]),
          '',
          '# 2. Check schema registry',
          curlVia(ctx, registry[0], Number(registry[1] ?? 8080), '/subjects'),
          '',
          '# 3. Validate request format',
          curlVia(ctx, gateway.service, port(gateway), '/api/v1/validate', `-X POST -H "Content-Type: application/json" -d '{"test": "data"}' `),
          '',
          '# 4. Check feature flags',
          curlVia(ctx, flags[0], Number(flags[1] ?? 8000), '/api/v1/flags'),
        ].join('\n'),
        recovery: [
          'Update schema definitions if needed.',
          `Disable strict validation temporarily: \`toggles.strictValidation: false\` in the platform config, synth, commit (${gateway.name} gets STRICT_VALIDATION=false).`,
          'Check for client version mismatches (user agents of the rejected requests in the logs).',
        ],
      };
    },
    scenarios: (rule, env) =>
      perServiceScenarios(rule, env, (svc, r): Series[] => [
        { metric: env.m.metrics.httpRequestsTotal, labels: { namespace: env.namespace, service: svc, code: '200' }, values: counter(1000) },
        { metric: env.m.metrics.validationFailuresTotal, labels: { namespace: env.namespace, service: svc }, values: counter(r * 1000) },
      ]),
  },
];
