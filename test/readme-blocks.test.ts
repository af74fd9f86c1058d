// README's code is what a consumer copies: every TypeScript block type-checks against the
// package's public entries, every YAML block is accepted by the config loader (or, if it is a
// Kubernetes object, by the Kubernetes schemas) and reads the same to a YAML 1.1 parser, and
// every alert name it mentions exists.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as YAML from 'yaml';
import { ALERT_RECORDS } from '../src/alerts/definitions';
import { loadPlatformConfig } from '../src/config/load-config';
import { RUNBOOK_URL } from './support/reference';
import { validateObject } from './support/validate-schema';

const repo = path.join(__dirname, '..');
const README = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');

interface Block {
  readonly lang: string;
  /** Line of the opening fence in README.md. */
  readonly line: number;
  readonly text: string;
}

/** The fenced code blocks of a Markdown text; blocks indented in a list are dedented. */
function codeBlocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^( *)```(\w*)\n([\s\S]*?)^ *```/gm)].map((m) => ({
    lang: m[2],
    line: markdown.slice(0, m.index).split('\n').length,
    text: m[3]
      .split('\n')
      .map((l) => l.slice(m[1].length))
      .join('\n'),
  }));
}

const blocks = codeBlocks(README);
const tsBlocks = blocks.filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const yamlBlocks = blocks.filter((b) => b.lang === 'yaml' || b.lang === 'yml');

describe('README TypeScript blocks', () => {
  test('every block imports the package only through its public entries', () => {
    expect(tsBlocks.length).toBeGreaterThanOrEqual(2);
    for (const block of tsBlocks) {
      const specifiers = [...block.text.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(specifiers.filter((s) => s.startsWith('.') || (s.startsWith('aiaas-ops') && !['aiaas-ops', 'aiaas-ops/pulumi'].includes(s)))).toEqual([]);
    }
  });

  test('every block type-checks (aiaas-ops and aiaas-ops/pulumi resolve to src/index.ts and src/pulumi/index.ts)', () => {
    // GIVEN each block as a module of its own beside the sources (virtual files: nothing is written)
    const config = ts.getParsedCommandLineOfConfigFile(path.join(repo, 'tsconfig.json'), { noEmit: true, types: ['node'] }, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    })!;
    const files = new Map(tsBlocks.map((b) => [path.join(repo, `README.md.line-${b.line}.ts`), b.text]));
    const host = ts.createCompilerHost(config.options);
    const { getSourceFile, fileExists, readFile } = host;
    host.fileExists = (file) => files.has(file) || fileExists.call(host, file);
    host.readFile = (file) => files.get(file) ?? readFile.call(host, file);
    host.getSourceFile = (file, language, ...rest) =>
      files.has(file) ? ts.createSourceFile(file, files.get(file)!, language) : getSourceFile.call(host, file, language, ...rest);
    // WHEN
    const program = ts.createProgram([...files.keys()], config.options, host);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file === undefined || files.has(d.file.fileName));
    // THEN
    const messages = diagnostics.map((d) => {
      const where = d.file ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(messages).toEqual([]);
  }, 120000);
});

describe('README YAML blocks', () => {
  test('there are blocks to check', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(5);
  });

  test.each(yamlBlocks.map((b) => [b.line, b] as const))('the block at line %d is accepted as what it is', (_, block) => {
    const parsed = YAML.parse(block.text, { uniqueKeys: true });
    if (parsed && typeof parsed === 'object' && 'apiVersion' in parsed && 'kind' in parsed) {
      // A Kubernetes object: its schema.
      validateObject(parsed);
      return;
    }
    // A platform config (a whole file or the part of platform.yaml a step changes), through the loader.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-readme-')), 'platform.yaml');
    fs.writeFileSync(file, block.text);
    expect(() => loadPlatformConfig({ file, context: { 'monitoring.runbookBaseUrl': RUNBOOK_URL } })).not.toThrow();
  });

  test.each(yamlBlocks.map((b) => [b.line, b] as const))('the block at line %d reads the same to a YAML 1.1 parser (PyYAML, Go yaml.v2)', (_, block) => {
    expect(YAML.parse(block.text, { version: '1.1' })).toEqual(YAML.parse(block.text));
    // `=` is YAML 1.1's value type, which `yaml` reads as a string but PyYAML refuses: quote it.
    expect(block.text).not.toMatch(/(:|^\s*-)\s+=\s*(#.*)?$/m);
  });
});

describe('README names only alerts that exist', () => {
  test('every Aiaas… name is an alert of the records or an export of the package', () => {
    const exported = new Set([...Object.keys(require('../src')), ...Object.keys(require('../src/pulumi'))]);
    const alerts = new Set(ALERT_RECORDS.map((r) => r.name));
    const named = new Set(README.match(/\bAiaas[A-Za-z0-9]+\b/g) ?? []);
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((name) => !alerts.has(name) && !exported.has(name))).toEqual([]);
  });

  test('fails on a name that is no alert (the check can fail)', () => {
    const alerts = new Set(ALERT_RECORDS.map((r) => r.name));
    expect(alerts.has('AiaasServiceErrorRateHigh')).toBe(false);
    expect(alerts.has('AiaasHighErrorRate')).toBe(true);
  });
});
