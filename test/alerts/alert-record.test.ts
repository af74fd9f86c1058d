import { AlertRecord, AlertSeverity } from '../../src/alerts/alert-record';
import { ALERT_RECORDS, alertDefinitions } from '../../src/alerts/definitions';
import { parseMonitoringConfig } from '../../src/config/monitoring-config';
import { RUNBOOK_URL } from '../support/reference';

const build = () => ({ expr: 'vector(1)', summary: 's', description: 'd {{ $value }}', threshold: 1, thresholdText: 't' });
const procedure = () => ({ symptoms: [], actions: '', recovery: [] });
const scenario = { name: 'x', series: [], expected: [], fireAt: 60 };

describe('alert records', () => {
  test('a record without a procedure, scenarios or a for source does not compile', () => {
    // @ts-expect-error procedure missing
    const noProcedure: AlertRecord = { name: 'AiaasX', group: 'aiaas.x', severity: AlertSeverity.WARNING, key: 'errorRatio', build, scenarios: () => ({ firing: [scenario], silent: [scenario] }) };
    // @ts-expect-error scenarios missing
    const noScenarios: AlertRecord = { name: 'AiaasX', group: 'aiaas.x', severity: AlertSeverity.WARNING, key: 'errorRatio', build, procedure };
    // @ts-expect-error no silent scenario: both sides need at least one
    const noSilent: AlertRecord = { name: 'AiaasX', group: 'aiaas.x', severity: AlertSeverity.WARNING, key: 'errorRatio', build, procedure, scenarios: () => ({ firing: [scenario], silent: [] }) };
    // @ts-expect-error neither key nor forOf
    const noFor: AlertRecord = { name: 'AiaasX', group: 'aiaas.x', severity: AlertSeverity.WARNING, build, procedure, scenarios: () => ({ firing: [scenario], silent: [scenario] }) };
    // @ts-expect-error not a key of monitoring.for
    const badKey: AlertRecord = { name: 'AiaasX', group: 'aiaas.x', severity: AlertSeverity.WARNING, key: 'errorRate', build, procedure, scenarios: () => ({ firing: [scenario], silent: [scenario] }) };
    expect([noProcedure, noScenarios, noSilent, noFor, badKey]).toHaveLength(5);
  });

  test('names are unique, prefixed, and each group keeps its records together', () => {
    const names = ALERT_RECORDS.map((r) => r.name);
    expect(new Set(names).size).toEqual(names.length);
    names.forEach((n) => expect(n).toMatch(/^Aiaas[A-Z]/));
    const groups = ALERT_RECORDS.map((r) => r.group).filter((g, i, all) => i === 0 || all[i - 1] !== g);
    expect(new Set(groups).size).toEqual(groups.length);
  });

  test('a record reads its threshold and its for under one key', () => {
    // GIVEN a config changing errorRatio's threshold and for
    const monitoring = parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL, thresholds: { errorRatio: 0.2 }, for: { errorRatio: '7m' } });
    // WHEN
    const def = alertDefinitions({ namespace: 'aiaas', services: ['api-gateway'], monitoring }).find((d) => d.name === 'AiaasHighErrorRate')!;
    // THEN
    expect(def.record.key).toEqual('errorRatio');
    expect(def.threshold).toEqual(0.2);
    expect(def.for).toEqual('7m');
    expect(def.expr).toMatch(/ > 0\.2$/);
  });

  test('a record added to a group reaches the rules without any other change', () => {
    const extra: AlertRecord = {
      name: 'AiaasSomethingNew',
      group: 'aiaas.http',
      severity: AlertSeverity.WARNING,
      key: 'errorRatio',
      build,
      procedure,
      scenarios: () => ({ firing: [scenario], silent: [scenario] }),
    };
    const defs = alertDefinitions({ namespace: 'aiaas', services: ['api-gateway'], monitoring: parseMonitoringConfig({ runbookBaseUrl: RUNBOOK_URL }) }, [...ALERT_RECORDS, extra]);
    // Same group: placed with the other http rules, before the tools group.
    const names = defs.map((d) => d.name);
    expect(names.indexOf('AiaasSomethingNew')).toBeLessThan(names.indexOf('AiaasToolCallErrors'));
  });
});
