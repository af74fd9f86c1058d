// README's alert table is generated from the alert records; like dist/, it must be what the code makes.
import * as fs from 'fs';
import { README, readmeAlertsTable, withAlertsTable } from '../scripts/readme-alerts';

test('the README alerts table matches the alert records (run `npm run synth` if this fails)', () => {
  const readme = fs.readFileSync(README, 'utf8');
  const table = readmeAlertsTable();
  expect(table).toContain('| [AiaasPostgresDown](dist/RUNBOOK.md#aiaaspostgresdown) | pg_up == 0 or absent | 1m | critical |  |');
  if (withAlertsTable(readme, table) !== readme) {
    throw new Error('README.md alerts table is stale against src/alerts: run `npm run synth` and commit README.md');
  }
});

test('fails if the markers are missing', () => {
  expect(() => withAlertsTable('# no table', 'x')).toThrow(/expected the markers/);
});
