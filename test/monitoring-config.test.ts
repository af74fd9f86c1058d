// The monitoring section: runbook defaults, one key per alert for threshold and `for`,
// and errors naming the field, the value and what was expected.
import { AlertSeverity, inClusterService, monitoringConfigSchema, oneOf, parseMonitoringConfig } from '../src/config/monitoring-config';

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

  test('the runbook\'s monitoring URLs: none pointing outside the user\'s control by default; in-cluster Services or any http(s) URL', () => {
    const m = parseMonitoringConfig({});
    // The chart derives in-cluster defaults from network.monitoringNamespace; the external APIs have none.
    expect([m.prometheusUrl, m.grafanaUrl, m.externalApiHealthUrls]).toEqual([undefined, undefined, []]);
    const set = parseMonitoringConfig({
      prometheusUrl: 'http://prometheus-operated.observability.svc.cluster.local:9090/prom/',
      grafanaUrl: 'https://grafana.example.com',
      externalApiHealthUrls: ['https://api.example.com/health', 'https://api.example.com:443/v2/status'],
    });
    expect(set.grafanaUrl).toBe('https://grafana.example.com');
    expect(inClusterService(set.prometheusUrl!)).toEqual({ service: 'prometheus-operated', namespace: 'observability', port: 9090, path: '/prom' });
    expect(inClusterService('http://grafana.monitoring.svc')).toEqual({ service: 'grafana', namespace: 'monitoring', port: 80, path: '' });
    expect(inClusterService('https://grafana.example.com')).toBeUndefined();
  });

  test.each([
    [{ prometheusUrl: 'prometheus:9090' }, "monitoring.prometheusUrl: expected an http(s) URL like 'http://prometheus-operated.monitoring.svc:9090' (got 'prometheus:9090')"],
    [{ grafanaUrl: 'https://grafana.monitoring.svc:3000' }, "monitoring.grafanaUrl: expected an in-cluster URL as http://<service>.<namespace>.svc:<port> (the runbook port-forwards to it; got 'https://grafana.monitoring.svc:3000')"],
    [{ prometheusUrl: 'http://prometheus.svc.cluster.local:9090' }, 'monitoring.prometheusUrl: expected an in-cluster URL as http://<service>.<namespace>.svc:<port>'],
    [{ prometheusUrl: "http://prom.example.com/'x" }, 'monitoring.prometheusUrl: expected an http(s) URL like'],
    [{ externalApiHealthUrls: ['http://api.example.com/health'] }, "monitoring.externalApiHealthUrls.0: expected an https URL like 'https://api.example.com/health' (got 'http://api.example.com/health')"],
    [{ externalApiHealthUrls: ['https://api.example.com:8443/health'] }, "monitoring.externalApiHealthUrls.0: expected port 443, the only port of the tool service's egress (got 'https://api.example.com:8443/health')"],
    [{ externalApiHealthUrls: ['https://user:pw@api.example.com/health'] }, 'monitoring.externalApiHealthUrls.0: expected a URL without credentials (it is printed in RUNBOOK.md)'],
  ])('fails on the monitoring URL %j', (input, message) => {
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
