import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1';
import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import { parseMonitoringConfig } from '../src/config/monitoring-config';
import { alertmanagerSecretNames, AlertRouting, renderAlertmanagerYaml } from '../src/constructs/alert-routing';

const EMAIL_MANAGER = {
  escalation: {
    manager: {
      contact: 'Engineering manager on duty',
      notify: {
        email: { to: 'manager@example.com', from: 'alertmanager@example.com', smarthost: 'smtp.example.com:587', authUsername: 'am', authPassword: { secret: 'smtp-credentials', key: 'password' } },
      },
    },
  },
};

function synth(monitoring: unknown = {}) {
  const chart = Testing.chart();
  const routing = new AlertRouting(chart, 'Routing', { namespace: 'aiaas', monitoring: parseMonitoringConfig(monitoring) });
  const manifest = Testing.synth(chart);
  expect(manifest).toHaveLength(1);
  return { obj: manifest[0], routing };
}

describe('AlertRouting', () => {
  test('synthesizes an AlertmanagerConfig that validates against the prometheus-operator schema', () => {
    // WHEN
    const { obj } = synth();
    // THEN
    expect(obj.apiVersion).toEqual('monitoring.coreos.com/v1alpha1');
    expect(obj.kind).toEqual('AlertmanagerConfig');
    expect(obj.metadata.namespace).toEqual('aiaas');
    expect(() => new AlertmanagerConfig(obj).validate()).not.toThrow();
    expect(obj).toMatchSnapshot();
  });

  test('level 1 is the root route; levels 2 and 3 route the escalation alerts', () => {
    const { obj } = synth();
    const route = obj.spec.route;
    expect(route.receiver).toEqual('aiaas-oncall');
    expect(route.repeatInterval).toEqual('15m');
    expect(route.groupBy).toEqual(['alertname', 'namespace', 'service']);
    expect(route.routes).toEqual([
      { receiver: 'aiaas-manager', matchers: [{ name: 'escalation', value: 'manager', matchType: '=' }], groupBy: ['...'], repeatInterval: '15m' },
      { receiver: 'aiaas-senior', matchers: [{ name: 'escalation', value: 'senior', matchType: '=' }], groupBy: ['...'], repeatInterval: '15m' },
    ]);
  });

  test('a database down inhibits its symptoms and their escalations, in both renderings', () => {
    const { obj } = synth();
    const rules = obj.spec.inhibitRules;
    const db = rules.filter((r: any) => r.sourceMatch[0].value === 'AiaasPostgresDown');
    expect(db).toHaveLength(2);
    expect(db[0].targetMatch[0]).toMatchObject({ name: 'alertname', matchType: '=~' });
    expect(db[0].targetMatch[0].value.split('|')).toEqual(expect.arrayContaining(['AiaasDatabasePoolExhaustion', 'AiaasDatabaseJobFailed', 'AiaasPostgresReplicationLag']));
    expect(db[0].equal).toEqual(['namespace']);
    expect(db[1].targetMatch.map((m: any) => m.name)).toEqual(['alertname', 'escalated_alert']);
    const breaker = rules.find((r: any) => r.targetMatch[0].value === 'AiaasToolCallErrors');
    expect(breaker.sourceMatch[0].value).toEqual('AiaasCircuitBreakerOpen|AiaasCircuitBreakerOpenTooLong');
    expect(breaker.equal).toEqual(['namespace', 'tool']);
    const plain = YAML.parse(renderAlertmanagerYaml(parseMonitoringConfig({}), 'aiaas'));
    expect(plain.inhibit_rules).toHaveLength(rules.length);
    expect(plain.inhibit_rules).toContainEqual({
      source_matchers: ['namespace="aiaas"', 'alertname="AiaasWebSocketBackpressureDrops"'],
      target_matchers: ['namespace="aiaas"', 'alertname="AiaasWebSocketMessagesDropped"'],
      equal: ['namespace', 'service'],
    });
  });

  test('receivers read their keys from Secrets by reference', () => {
    const { obj, routing } = synth();
    expect(obj.spec.receivers[0]).toEqual({
      name: 'aiaas-oncall',
      pagerdutyConfigs: [{ routingKey: { name: 'alertmanager-pagerduty', key: 'oncall-routing-key' }, sendResolved: true }],
    });
    expect(routing.secretNames).toEqual(['alertmanager-pagerduty']);
  });

  test('e-mail receivers with the SMTP password from a Secret', () => {
    const { obj } = synth(EMAIL_MANAGER);
    expect(() => new AlertmanagerConfig(obj).validate()).not.toThrow();
    expect(obj.spec.receivers[2]).toEqual({
      name: 'aiaas-manager',
      emailConfigs: [
        {
          to: 'manager@example.com',
          from: 'alertmanager@example.com',
          smarthost: 'smtp.example.com:587',
          authUsername: 'am',
          authPassword: { name: 'smtp-credentials', key: 'password' },
          sendResolved: true,
        },
      ],
    });
    expect(alertmanagerSecretNames(parseMonitoringConfig(EMAIL_MANAGER))).toEqual(['alertmanager-pagerduty', 'smtp-credentials']);
  });

  test('no phone number or secret value in the output', () => {
    const text = JSON.stringify(synth().obj) + renderAlertmanagerYaml(parseMonitoringConfig({}), 'aiaas');
    expect(text).not.toMatch(/555-01/);
    expect(text).not.toMatch(/routing_key:|routingKey":"/);
  });

  test('fails if the namespace is not a DNS-1123 label', () => {
    const chart = Testing.chart();
    expect(() => new AlertRouting(chart, 'R', { namespace: 'AIaaS', monitoring: parseMonitoringConfig({}) })).toThrow(
      "namespace: expected a DNS-1123 label (got 'AIaaS')",
    );
  });

  test('fails if a hand-built config escalates to the manager before the senior engineer', () => {
    const m = parseMonitoringConfig({});
    const bad = { ...m, escalation: { ...m.escalation, manager: { ...m.escalation.manager, after: '5m' } } };
    expect(() => synth(bad)).toThrow("monitoring.escalation.manager.after: expected a duration longer than senior.after ('15m') (got '5m')");
  });
});

describe('renderAlertmanagerYaml', () => {
  test('is the same routing as the AlertmanagerConfig, limited to the namespace', () => {
    const config = YAML.parse(renderAlertmanagerYaml(parseMonitoringConfig({}), 'aiaas'));
    expect(config.route.receiver).toEqual('aiaas-oncall');
    const ns = config.route.routes[0];
    expect(ns.matchers).toEqual(['namespace="aiaas"']);
    expect(ns.routes.map((r: any) => [r.matchers, r.receiver])).toEqual([
      [['escalation="manager"'], 'aiaas-manager'],
      [['escalation="senior"'], 'aiaas-senior'],
    ]);
    expect(config.receivers[1].pagerduty_configs[0].routing_key_file).toEqual('/etc/alertmanager/secrets/alertmanager-pagerduty/senior-routing-key');
  });
});
