import { formatBytes, formatRatio, formatSeconds, outputFormat, renderText } from '../../src/jobs/report-text';

test('sizes in kB/MB/GB, ratios in %, durations in s/min/h', () => {
  expect([formatBytes(512), formatBytes(1536), formatBytes(4_823_449), formatBytes(21_474_836_480)]).toEqual(['512 B', '1.5 kB', '4.6 MB', '20.0 GB']);
  expect([formatRatio(0.853), formatRatio(1), formatRatio(0), formatRatio(0.0004)]).toEqual(['85.3 %', '100 %', '0 %', '0.04 %']);
  expect([formatSeconds(0.061), formatSeconds(75), formatSeconds(600), formatSeconds(9000)]).toEqual(['0.06 s', '75 s', '10 min', '2.5 h']);
});

test('text on a terminal, JSON otherwise, unless asked', () => {
  expect(outputFormat(undefined, true)).toBe('text');
  expect(outputFormat(undefined, undefined)).toBe('json');
  expect(outputFormat('json', true)).toBe('json');
  expect(outputFormat('text', false)).toBe('text');
});

test('status first, findings as sentences, units, and the next command with the report\'s own values', () => {
  const text = renderText({
    task: 'table-sizes', runId: 'r', status: 'finding', exitCode: 1, startedAt: '', finishedAt: '', durationSeconds: 0.4,
    database: { host: 'db', port: 5432, database: 'aiaas', user: 'ops' },
    findings: [{ code: 'table_bloated', message: 'public.t has many dead tuples', deadRatio: 0.5 }],
    errors: [], warnings: ['users.count was not counted'],
    data: { schema: 'app', tables: [{ name: 't', totalBytes: 4_823_449, deadRatio: 0.5, lastVacuum: null }] },
  });
  expect(text.split('\n')[0]).toBe('table-sizes: FINDINGS (exit 1, took 0.4 s)');
  expect(text).toContain('  - public.t has many dead tuples (dead ratio 50 %)');
  expect(text).toContain('    - name t, total bytes 4.6 MB, dead ratio 50 %, last vacuum -');
  expect(text).toContain('Warnings:\n  - users.count was not counted');
  expect(text).toContain('Next: reclaim dead tuples: aiaas-job vacuum-analyze --schema app');
});
