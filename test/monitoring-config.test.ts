// The monitoring section: runbook defaults, one key per alert for threshold and `for`,
// and errors naming the field, the value and what was expected.
import { AlertSeverity, monitoringConfigSchema, oneOf, parseMonitoringConfig } from '../src/config/monitoring-config';

describe('monitoring config', () => {
  test('has the runbook defaults', () => {
    const m = parseMonitoringConfig({});
    expect(m.thresholds).toMatchObject({
      latencyP95Seconds: 2,
      responseTimeSeconds: 5,
      errorRatio: 0.05,
      dbPoolRatio: 0.8,
      postgresConnectionsRatio: 0.8,
      memoryRatio: 0.85,
      websocketConnectionsRatio: 0.9,
    });
    expect(m.for.circuitBreakerOpenTooLong).toEqual('5m');
    expect(m.escalation.senior.after).toEqual('15m');
    expect(m.escalation.manager.after).toEqual('30m');
    expect(m.metrics.httpRequestDurationBucket).toEqual('http_request_duration_seconds_bucket');
  });

  test.each([
    [{ thresholds: { errorRatio: 1.5 } }, 'monitoring.thresholds.errorRatio: expected a ratio in (0, 1], e.g. 0.05 for 5 % (got 1.5)'],
    [{ thresholds: { memoryRatio: 0 } }, 'monitoring.thresholds.memoryRatio: expected a ratio in (0, 1]'],
    [{ for: { latencyP95Seconds: '-5m' } }, "monitoring.for.latencyP95Seconds: expected a Prometheus duration like '30s', '5m' or '1h30m' (got '-5m')"],
    [{ for: { dbPoolRatio: '5 minutes' } }, "monitoring.for.dbPoolRatio: expected a Prometheus duration like '30s', '5m' or '1h30m' (got '5 minutes')"],
    [{ rateWindow: '1.5m' }, 'monitoring.rateWindow: expected a Prometheus duration'],
    [{ thresholds: { latencyP95Seconds: -2 } }, 'monitoring.thresholds.latencyP95Seconds: expected a latency in seconds greater than 0 (got -2)'],
    [{ perService: { 'api-gateway': { errorRatio: 2 } } }, 'monitoring.perService.api-gateway.errorRatio: expected a ratio in (0, 1]'],
    [{ for: { errorRate: '5m' } }, "monitoring.for.errorRate: renamed to 'errorRatio', the name of its threshold (got 'errorRate')"],
    [{ thresholds: { errorRate: 0.1 } }, "monitoring.thresholds: Unrecognized key(s) in object: 'errorRate'"],
    [{ escalation: { manager: { after: '10m' } } }, "monitoring.escalation.manager.after: expected a duration longer than senior.after ('15m') (got '10m')"],
    [{ escalation: { onCall: { contact: 'Call +1-555-0123' } } }, 'monitoring.escalation.onCall.contact: expected a role or schedule name, not a phone number'],
    [{ escalation: { onCall: { notify: {} } } }, 'monitoring.escalation.onCall.notify: expected at least one of pagerduty, webhook or email'],
    [{ metrics: { pgUp: 'pg-up' } }, "monitoring.metrics.pgUp: expected a Prometheus metric name like http_requests_total (got 'pg-up')"],
    [{ labelValues: { timeoutCodes: '408"' } }, `monitoring.labelValues.timeoutCodes: expected a non-empty label value without quotes, backslashes or newlines (got '408"')`],
    [{ escalation: { severities: ['page'] } }, `monitoring.escalation.severities.0: expected 'critical', 'warning' or 'info' (got "page")`],
    [{ escalation: { onCall: { notify: { webhook: { url: 'ftp://x' } } } } }, "monitoring.escalation.onCall.notify.webhook.url: expected an http(s) URL (got 'ftp://x')"],
    [{ escalation: { onCall: { receiver: 'On Call' } } }, `monitoring.escalation.onCall.receiver: expected a receiver name of lower-case letters, digits and "-" (got 'On Call')`],
  ])('fails on %j', (input, message) => {
    expect(() => parseMonitoringConfig(input)).toThrow(message);
  });

  test('the schema is strict at every level', () => {
    expect(monitoringConfigSchema.safeParse({ escalation: { senior: { phone: 'x' } } }).success).toBe(false);
  });
});

describe('oneOf', () => {
  test('lists values for messages', () => {
    expect(oneOf(Object.values(AlertSeverity))).toEqual("'critical', 'warning' or 'info'");
    expect(oneOf(['a'])).toEqual("'a'");
  });
});
