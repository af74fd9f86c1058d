// The folders of src/ are layers: a module imports only from its own folder and the layers
// below it, and a `_`-private module only from its own folder (STYLE.md, issue 15).
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const SRC = path.resolve(__dirname, '../src');

/**
 * Lowest first: a folder may import from folders of a lower rank only. The root modules are
 * placed by what they join: synth-platform builds the chart (the Pulumi component reuses its
 * chart id), index and main are the entry points.
 */
const RANK: Record<string, number> = {
  jobs: 0,
  imports: 0,
  config: 1,
  alerts: 2,
  runbook: 3,
  constructs: 4,
  'synth-platform.ts': 5,
  pulumi: 6,
  'index.ts': 7,
  'main.ts': 7,
};

interface LocalImport {
  readonly from: string;
  readonly to: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

function resolveModule(fromFile: string, specifier: string): string {
  const base = path.resolve(path.dirname(fromFile), specifier);
  const candidate = [`${base}.ts`, path.join(base, 'index.ts'), base].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
  if (candidate === undefined) {
    throw new Error(`${path.relative(SRC, fromFile)}: cannot resolve import '${specifier}'`);
  }
  return candidate;
}

/** Every relative import (static, type-only, `export from`, dynamic, require) of src/, resolved to files. */
function localImports(): LocalImport[] {
  return sourceFiles(SRC).flatMap((file) =>
    ts
      .preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
      .importedFiles.filter((ref) => ref.fileName.startsWith('.'))
      .map((ref) => ({ from: file, to: resolveModule(file, ref.fileName) })),
  );
}

/** The layer of a file: its top folder under src/, or its own name at the root. */
function layerOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0];
}

const show = (i: LocalImport) => `${path.relative(SRC, i.from)} → ${path.relative(SRC, i.to)}`;

/** `_`-private modules imported from another folder. */
export function privateImportProblems(imports: readonly LocalImport[]): string[] {
  return imports
    .filter((i) => path.basename(i.to).startsWith('_') && path.dirname(i.to) !== path.dirname(i.from))
    .map((i) => `${show(i)}: '${path.basename(i.to)}' is private to ${path.relative(SRC, path.dirname(i.to))}/; expected a public module`);
}

/** Imports that run back up (or sideways) between layers. */
export function layerProblems(imports: readonly LocalImport[]): string[] {
  return imports.flatMap((i) => {
    const from = layerOf(i.from);
    const to = layerOf(i.to);
    if (from === to) return [];
    if (RANK[from] === undefined || RANK[to] === undefined) {
      return [`${show(i)}: '${RANK[from] === undefined ? from : to}' has no layer; expected one of ${Object.keys(RANK).join(', ')}`];
    }
    return RANK[to] < RANK[from] ? [] : [`${show(i)}: ${from} (layer ${RANK[from]}) may import only from lower layers; ${to} is layer ${RANK[to]}`];
  });
}

describe('imports between the folders of src/', () => {
  const imports = localImports();

  test('the walk sees the imports (relative, type-only and re-exports included)', () => {
    const shown = imports.map(show);
    expect(shown).toContain(`constructs${path.sep}db-maintenance.ts → config${path.sep}db-maintenance-config.ts`);
    expect(shown).toContain(`constructs${path.sep}db-maintenance.ts → constructs${path.sep}_cron.ts`);
    expect(shown).toContain(`runbook${path.sep}render-runbook.ts → alerts${path.sep}alert-record.ts`); // `import type`
    expect(shown).toContain(`index.ts → constructs${path.sep}blue-green-service.ts`); // `export * from`
  });

  test('no `_`-private module is imported from another folder', () => {
    expect(privateImportProblems(imports)).toEqual([]);
  });

  test('no import runs back up between folders (jobs, imports < config < alerts < runbook < constructs < pulumi)', () => {
    expect(layerProblems(imports)).toEqual([]);
  });

  test('fails if config imports a private construct module, naming both files', () => {
    // GIVEN: what config/db-maintenance-config.ts once did
    const bad = { from: path.join(SRC, 'config/db-maintenance-config.ts'), to: path.join(SRC, 'constructs/_cron.ts') };

    // THEN
    expect(privateImportProblems([bad])).toEqual([
      `config${path.sep}db-maintenance-config.ts → constructs${path.sep}_cron.ts: '_cron.ts' is private to constructs/; expected a public module`,
    ]);
    expect(layerProblems([bad])).toEqual([
      `config${path.sep}db-maintenance-config.ts → constructs${path.sep}_cron.ts: config (layer 1) may import only from lower layers; constructs is layer 4`,
    ]);
  });

  test('fails if a new folder has no layer', () => {
    const bad = { from: path.join(SRC, 'cli/x.ts'), to: path.join(SRC, 'config/defaults.ts') };
    expect(layerProblems([bad])).toEqual([
      `cli${path.sep}x.ts → config${path.sep}defaults.ts: 'cli' has no layer; expected one of ${Object.keys(RANK).join(', ')}`,
    ]);
  });
});
