// amtool checks the rendered alertmanager.yaml and proves where each level's alerts go.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseMonitoringConfig } from '../../src/config/monitoring-config';
import { renderAlertmanagerYaml } from '../../src/constructs/alert-routing';

function amtool(args: string[]): { status: number; output: string } {
  const result = spawnSync('amtool', args, { encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `cannot run amtool (${result.error.message}); install the Debian package 'prometheus-alertmanager' (apt-get install prometheus-alertmanager), which provides /usr/bin/amtool`,
    );
  }
  return { status: result.status ?? -1, output: `${result.stdout}\n${result.stderr}` };
}

const CONFIGS: [string, unknown][] = [
  ['runbook defaults', {}],
  [
    'webhook and e-mail receivers',
    {
      escalation: {
        senior: { receiver: 'senior-chat', notify: { webhook: { url: 'https://relay.example.com/aiaas' } } },
        manager: {
          notify: {
            email: { to: 'manager@example.com', from: 'alertmanager@example.com', smarthost: 'smtp.example.com:587', authPassword: { secret: 'smtp', key: 'password' } },
            pagerduty: { secret: 'alertmanager-pagerduty', key: 'manager-routing-key' },
          },
        },
      },
    },
  ],
];

describe.each(CONFIGS)('amtool with %s', (_label, input) => {
  const monitoring = parseMonitoringConfig(input);
  let dir: string;
  let file: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-amtool-'));
    file = path.join(dir, 'alertmanager.yaml');
    fs.writeFileSync(file, renderAlertmanagerYaml(monitoring, 'aiaas'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('amtool check-config accepts the rendered alertmanager.yaml', () => {
    const { status, output } = amtool(['check-config', file]);
    expect(output).toContain('SUCCESS');
    expect(output).toContain('3 receivers');
    expect(status).toBe(0);
  });

  test.each([
    ['level 1: any alert of the namespace', ['namespace=aiaas', 'severity=critical', 'alertname=AiaasHighErrorRate'], 'onCall'],
    ['level 1: warnings', ['namespace=aiaas', 'severity=warning', 'alertname=AiaasHighLatencyP95'], 'onCall'],
    ['level 2: after 15 minutes', ['namespace=aiaas', 'severity=critical', 'alertname=AiaasEscalationSenior', 'escalation=senior'], 'senior'],
    ['level 3: after 30 minutes', ['namespace=aiaas', 'severity=critical', 'alertname=AiaasEscalationManager', 'escalation=manager'], 'manager'],
  ] as const)('routes %s to the right receiver', (_what, labels, level) => {
    const { status, output } = amtool(['config', 'routes', 'test', `--config.file=${file}`, ...labels]);
    expect(status).toBe(0);
    expect(output.split('\n')[0].trim()).toEqual(monitoring.escalation[level].receiver);
  });

  test('the harness can fail: amtool rejects a broken config', () => {
    const broken = path.join(dir, 'broken.yaml');
    fs.writeFileSync(broken, renderAlertmanagerYaml(monitoring, 'aiaas').replace(/receiver: aiaas-oncall/g, 'receiver: nobody'));
    const { status, output } = amtool(['check-config', broken]);
    expect(status).not.toBe(0);
    expect(output).toContain('nobody');
  });
});

test('amtool check-config accepts the committed dist/alertmanager.yaml', () => {
  const { status, output } = amtool(['check-config', path.join(__dirname, '..', '..', 'dist', 'alertmanager.yaml')]);
  expect(output).toContain('SUCCESS');
  expect(status).toBe(0);
});
