import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backupName, forDatabase, MANIFEST_FORMAT, partialName, partialsOf, planRetention, readDir, serverTag } from '../../src/jobs/backup-files';
import { OWN_STATEMENT_MARK, markOwnStatements } from '../../src/jobs/own-statements';
import { addSecret, addSecretsOf, redact, redactDeep } from '../../src/jobs/redact';
import { exitCodeOf, statusOf } from '../../src/jobs/report';

describe('redact', () => {
  test('removes connection strings, password settings, SQL password literals and registered secrets', () => {
    addSecret('hunter2-xyz');
    expect(redact('postgresql://u:pw@h/db failed')).toBe('postgresql://[redacted] failed');
    expect(redact('host=h password=abc user=u')).toBe('host=h password=[redacted] user=u');
    expect(redact("ALTER ROLE x PASSWORD 'it''s secret'")).toBe("ALTER ROLE x PASSWORD '[redacted]'");
    expect(redact('oops hunter2-xyz leaked')).toBe('oops [redacted] leaked');
  });

  test('a one-letter secret is removed where it is a value, not from inside words', () => {
    addSecret('e');
    expect(redact('task finished: the database is healthy')).toBe('task finished: the database is healthy');
    expect(redactDeep({ msg: 'task finished', password: 'e', args: ['--x', 'e'], url: 'u:e@h' }))
      .toEqual({ msg: 'task finished', password: '[redacted]', args: ['--x', '[redacted]'], url: 'u:[redacted]@h' });
  });

  test('the password of a connection string given as a name is registered before anything echoes it', () => {
    addSecretsOf('postgresql://ops:S3cr%40t@db:5432/aiaas');
    addSecretsOf('dbname=aiaas password=pw-in-conninfo');
    expect(redact("argument 'S3cr@t' and S3cr%40t and pw-in-conninfo")).toBe("argument '[redacted]' and [redacted] and [redacted]");
  });
});

describe('report', () => {
  test('exit codes', () => {
    expect(exitCodeOf({ findings: [] })).toBe(0);
    expect(exitCodeOf({ findings: [{ code: 'x', message: 'm' }] })).toBe(1);
    expect(exitCodeOf({ findings: [{ code: 'x', message: 'm' }], errors: ['e'] })).toBe(2);
    expect([statusOf(0), statusOf(1), statusOf(2), statusOf(64)]).toEqual(['ok', 'finding', 'error', 'error']);
  });
});

describe('backup files', () => {
  const entry = (name: string, createdAt: string): any => ({ name, manifest: { createdAt } });

  test('names sort by time and are safe', () => {
    expect(backupName('my db', new Date('2026-01-02T03:04:05.678Z'))).toBe('aiaas-my_db-20260102T030405678Z.dump');
  });

  test('each database only sees its own backups and leftovers in a shared directory', () => {
    const state = {
      complete: [{ name: 'aiaas-a-1.dump', manifest: { database: 'a' } }, { name: 'aiaas-b-1.dump', manifest: { database: 'b' } }] as any,
      partials: ['.aiaas-a-20260101T000000000Z.dump.partial', '.aiaas-b-20260101T000000000Z.dump.partial'],
      orphans: ['aiaas-a-20260101T000000001Z.dump', 'aiaas-a-b-20260101T000000001Z.dump'],
      invalid: [],
    };
    expect(forDatabase(state, 'a')).toEqual({
      complete: [state.complete[0]],
      partials: ['.aiaas-a-20260101T000000000Z.dump.partial'],
      orphans: ['aiaas-a-20260101T000000001Z.dump'],
      invalid: [],
    });
  });

  test('leftovers carry their server: a run cleans its own and untagged ones of earlier versions only', () => {
    const primary = serverTag('postgres', 5432);
    const replica = serverTag('postgres-replica.aiaas.svc', 5432);
    expect(replica).toBe('postgres-replica.aiaas.svc_5432');
    expect(serverTag('/var/run/postgresql', 5432)).toBe('_var_run_postgresql_5432');
    const name = 'aiaas-a-20260101T000000000Z.dump';
    const partials = [
      partialName(name, primary), partialName(name, replica), partialName(`${name}.manifest.json`, replica),
      `.${name}.partial`, `.${name}.manifest.json.partial`,
    ];
    expect(partialsOf(partials, primary)).toEqual([partials[0], partials[3], partials[4]]);
    expect(partialsOf(partials, replica)).toEqual([partials[1], partials[2], partials[3], partials[4]]);
  });

  test('retention keeps the newest N and never the newest one', () => {
    const all = [entry('c', '3'), entry('b', '2'), entry('a', '1')];
    expect(planRetention(all, 2).map((e) => e.name)).toEqual(['a']);
    expect(planRetention(all, 7)).toEqual([]);
    expect(planRetention(all, 0).map((e) => e.name)).toEqual(['b', 'a']);
  });

  test('only a dump with a matching manifest is complete', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-unit-'));
    try {
      const manifest = (file: string, sizeBytes: number, createdAt: string): string => JSON.stringify({
        format: MANIFEST_FORMAT, file, sizeBytes, sha256: 'a'.repeat(64), createdAt,
      });
      fs.writeFileSync(path.join(d, 'ok1.dump'), 'abc');
      fs.writeFileSync(path.join(d, 'ok1.dump.manifest.json'), manifest('ok1.dump', 3, '2026-01-01'));
      fs.writeFileSync(path.join(d, 'ok2.dump'), 'abcd');
      fs.writeFileSync(path.join(d, 'ok2.dump.manifest.json'), manifest('ok2.dump', 4, '2026-01-02'));
      fs.writeFileSync(path.join(d, 'short.dump'), 'ab');
      fs.writeFileSync(path.join(d, 'short.dump.manifest.json'), manifest('short.dump', 3, '2026-01-03'));
      fs.writeFileSync(path.join(d, 'gone.dump.manifest.json'), manifest('gone.dump', 3, '2026-01-04'));
      fs.writeFileSync(path.join(d, 'bad.dump'), 'x');
      fs.writeFileSync(path.join(d, 'bad.dump.manifest.json'), '{not json');
      fs.writeFileSync(path.join(d, 'orphan.dump'), 'x');
      fs.writeFileSync(path.join(d, '.x.dump.partial'), 'x');
      return readDir(d).then((s) => {
        expect(s.complete.map((c) => c.name)).toEqual(['ok2.dump', 'ok1.dump']);
        expect(s.orphans).toEqual(['orphan.dump']);
        expect(s.partials).toEqual(['.x.dump.partial']);
        expect(s.invalid.map((i) => i.name).sort()).toEqual(['bad.dump', 'gone.dump', 'short.dump']);
      }).finally(() => fs.rmSync(d, { recursive: true, force: true }));
    } catch (e) {
      fs.rmSync(d, { recursive: true, force: true });
      throw e;
    }
  });
});

describe('markOwnStatements', () => {
  test('prefixes text queries and query configs, leaves submittables (cursors, streams) alone', () => {
    const calls: unknown[][] = [];
    const client = { query: (...args: unknown[]) => { calls.push(args); return 'result'; } };
    markOwnStatements(client as any);
    const cb = (): void => undefined;
    expect(client.query('SELECT $1', [1], cb)).toBe('result');
    client.query({ text: 'SELECT 2', values: [] });
    const cursor = { text: 'SELECT 3', submit: () => undefined };
    client.query(cursor);
    expect(calls[0]).toEqual([`${OWN_STATEMENT_MARK} SELECT $1`, [1], cb]);
    expect(calls[1]).toEqual([{ text: `${OWN_STATEMENT_MARK} SELECT 2`, values: [] }]);
    expect(calls[2][0]).toBe(cursor);
    expect(cursor.text).toBe('SELECT 3');
  });
});
