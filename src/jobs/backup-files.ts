// The backup directory: names, manifests, which backups are complete, retention.
// A backup is complete only when `<name>` and `<name>.manifest.json` both exist
// and the file has the size the manifest records. `<name>` is a file (pg_dump
// custom format) or a directory (directory format, every file in the manifest).
// Dumps are written as
// `.<name>.<server>.partial` first and the manifest is written before the dump
// is renamed into place, so an interrupted dump never looks complete, and the
// leftovers of a run carry the server that made them: several servers (a primary
// and its replica) may back up into one directory, each cleaning only its own.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export const MANIFEST_FORMAT = 'aiaas-backup-manifest/1';
export const MANIFEST_SUFFIX = '.manifest.json';
export const DUMP_SUFFIX = '.dump';

export interface Manifest {
  readonly format: string;
  readonly file: string;
  readonly database: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly serverVersion: string;
  readonly pgDumpVersion: string;
  readonly durationSeconds: number;
  readonly createdAt: string;
  /** Exact row counts taken in the snapshot pg_dump used, keyed `schema.table`. */
  readonly rowCounts: Record<string, number>;
  /**
   * Tables asked to be counted that did not exist in that snapshot.
   * @default - [] (manifests written before this field)
   */
  readonly missingTables?: string[];
  /**
   * The server the dump was taken from (`serverTag`).
   * @default - unknown (manifests written before this field)
   */
  readonly server?: string;
  /**
   * Every file of a directory-format backup (`file` is then the directory), each with its own
   * size and sha256; absent for a single-file dump, whose size and sha256 are the fields above.
   */
  readonly files?: BackupFile[];
}

/** One file of a backup: a path relative to the backup directory (and to the bucket prefix). */
export interface BackupFile {
  readonly path: string;
  readonly sizeBytes: number;
  readonly sha256: string;
}

/** The files a manifest names: `files` of a directory-format backup, else the single dump file. */
export function filesOf(m: Manifest): BackupFile[] {
  return m.files ?? [{ path: m.file, sizeBytes: m.sizeBytes, sha256: m.sha256 }];
}

export interface BackupEntry {
  readonly name: string;
  readonly manifest: Manifest;
}

export interface DirState {
  /** Complete backups, newest first. */
  readonly complete: BackupEntry[];
  /** `.*.partial` leftovers of interrupted runs. */
  readonly partials: string[];
  /** Dump files without a manifest. */
  readonly orphans: string[];
  /** Manifests that do not match their file (missing, other size, unreadable). */
  readonly invalid: InvalidEntry[];
}

export interface InvalidEntry {
  readonly name: string;
  readonly reason: string;
  /** The manifest, when it could be read. */
  readonly manifest?: Manifest;
}

/** Names the server a run backs up in its leftovers' names: `<host>_<port>`, file-name safe. */
export function serverTag(host: string, port: number): string {
  return `${host}_${port}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** File name prefix of one database's backups: several databases may share a directory. */
export function backupPrefix(database: string): string {
  return `aiaas-${database.replace(/[^A-Za-z0-9_-]/g, '_')}-`;
}

export function backupName(database: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${backupPrefix(database)}${stamp}${DUMP_SUFFIX}`;
}

/** The part of a directory's state that belongs to one database. */
export function forDatabase(state: DirState, database: string): DirState {
  // prefix + timestamp, so that database "a" does not claim the files of database "a-b"
  const escaped = backupPrefix(database).replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
  const mine = new RegExp(`^\\.?${escaped}\\d{8}T\\d{9}Z\\${DUMP_SUFFIX}`);
  return {
    complete: state.complete.filter((c) => c.manifest.database === database),
    partials: state.partials.filter((n) => mine.test(n)),
    orphans: state.orphans.filter((n) => mine.test(n)),
    invalid: state.invalid.filter((i) => mine.test(i.name)),
  };
}

/** Hidden name a file is written under before it is renamed into place, tagged with its server. */
export function partialName(name: string, server: string): string {
  return `.${name}.${server}.partial`;
}

/**
 * The leftovers in `partials` that belong to `server`: its own tagged ones, and
 * untagged ones of earlier versions (`.<name>.partial`, which no current run writes).
 */
export function partialsOf(partials: string[], server: string): string[] {
  const legacy = new RegExp(`^\\.[^.].*\\${DUMP_SUFFIX}(\\${MANIFEST_SUFFIX})?\\.partial$`);
  return partials.filter((n) => n.endsWith(`.${server}.partial`) || legacy.test(n));
}

export function isManifest(v: unknown): v is Manifest {
  const m = v as Manifest;
  return typeof m === 'object' && m !== null && m.format === MANIFEST_FORMAT && typeof m.file === 'string'
    && typeof m.sizeBytes === 'number' && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256)
    && typeof m.createdAt === 'string';
}

export async function readDir(dir: string): Promise<DirState> {
  const names = await fs.readdir(dir);
  const set = new Set(names);
  const complete: BackupEntry[] = [];
  const invalid: InvalidEntry[] = [];
  const withManifest = new Set<string>();
  for (const n of names.filter((x) => x.endsWith(DUMP_SUFFIX + MANIFEST_SUFFIX) && !x.startsWith('.'))) {
    const dump = n.slice(0, -MANIFEST_SUFFIX.length);
    withManifest.add(dump);
    let manifest: unknown;
    try {
      manifest = JSON.parse(await fs.readFile(path.join(dir, n), 'utf8'));
    } catch {
      invalid.push({ name: dump, reason: 'manifest unreadable' });
      continue;
    }
    if (!isManifest(manifest) || manifest.file !== dump) {
      invalid.push({ name: dump, reason: 'manifest malformed' });
      continue;
    }
    if (!set.has(dump)) {
      invalid.push({ name: dump, reason: 'dump file missing', manifest });
      continue;
    }
    const problem = await sizeProblem(dir, manifest);
    if (problem) {
      invalid.push({ name: dump, reason: problem, manifest });
      continue;
    }
    complete.push({ name: dump, manifest });
  }
  complete.sort(newestFirst);
  return {
    complete,
    partials: names.filter((n) => n.startsWith('.') && n.endsWith('.partial')),
    orphans: names.filter((n) => n.endsWith(DUMP_SUFFIX) && !n.startsWith('.') && !withManifest.has(n)),
    invalid,
  };
}

/** Why the files of a backup do not match its manifest's sizes (undefined: they do). */
async function sizeProblem(dir: string, manifest: Manifest): Promise<string | undefined> {
  if (!manifest.files) {
    const st = await fs.stat(path.join(dir, manifest.file));
    return st.size === manifest.sizeBytes ? undefined : `size ${st.size} differs from manifest ${manifest.sizeBytes}`;
  }
  for (const f of manifest.files) {
    const st = await fs.stat(path.join(dir, f.path)).catch(() => undefined);
    if (!st) return `${f.path} missing`;
    if (st.size !== f.sizeBytes) return `${f.path}: size ${st.size} differs from manifest ${f.sizeBytes}`;
  }
  return undefined;
}

/**
 * Checks every file of a backup against the manifest's sha256 and size; returns the first that
 * differs (undefined: all match).
 */
export async function verifyFiles(dir: string, manifest: Manifest)
  : Promise<{ file: string; expected: string; actual: string; expectedSize: number; actualSize: number } | undefined> {
  for (const f of filesOf(manifest)) {
    const sum = await sha256File(path.join(dir, f.path)).catch((e: Error) => ({ sha256: `unreadable (${e.message})`, sizeBytes: -1 }));
    if (sum.sha256 !== f.sha256 || sum.sizeBytes !== f.sizeBytes) {
      return { file: f.path, expected: f.sha256, actual: sum.sha256, expectedSize: f.sizeBytes, actualSize: sum.sizeBytes };
    }
  }
  return undefined;
}

/**
 * The files of a directory-format dump with their sizes and sha256, each fsynced; `rel` is the
 * directory's name as it will be after the rename. The digest is that of the sha256sum-style list.
 */
export async function hashTree(dumpDir: string, rel: string): Promise<{ files: BackupFile[]; sizeBytes: number; sha256: string }> {
  const files: BackupFile[] = [];
  for (const n of (await fs.readdir(dumpDir)).sort()) {
    const p = path.join(dumpDir, n);
    await fsyncPath(p);
    const sum = await sha256File(p);
    files.push({ path: `${rel}/${n}`, sizeBytes: sum.sizeBytes, sha256: sum.sha256 });
  }
  await fsyncPath(dumpDir);
  const list = files.map((f) => `${f.sha256}  ${f.path}\n`).join('');
  return { files, sizeBytes: files.reduce((a, f) => a + f.sizeBytes, 0), sha256: createHash('sha256').update(list).digest('hex') };
}

/** Order of backups, newest first (by creation time, then name): the bucket's listing sorts the same way. */
export function newestFirst(a: BackupEntry, b: BackupEntry): number {
  return a.manifest.createdAt < b.manifest.createdAt ? 1 : a.manifest.createdAt > b.manifest.createdAt ? -1 : a.name < b.name ? 1 : -1;
}

/** Complete backups to delete: all but the newest `keep` (keep >= 1, so never the newest). */
export function planRetention(completeNewestFirst: BackupEntry[], keep: number): BackupEntry[] {
  return completeNewestFirst.slice(Math.max(1, keep));
}

export async function fsyncPath(p: string, flags: string = 'r'): Promise<void> {
  const fh = await fs.open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Reads a file through one reused 1 MiB buffer: no allocation per chunk, so hashing a backup of any
 * size leaves no garbage behind and the process's RSS stays flat (a read stream allocates a fresh
 * off-heap buffer per chunk, freed only at V8's next, late, GC).
 */
export async function sha256File(p: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let size = 0;
  const fh = await fs.open(p, 'r');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest('hex'), sizeBytes: size };
}

/** Write a file durably: temp file, fsync, rename, fsync the directory. */
export async function writeFileDurable(dir: string, name: string, content: string, server: string): Promise<void> {
  const tmp = path.join(dir, partialName(name, server));
  await fs.writeFile(tmp, content, { mode: 0o600 });
  await fsyncPath(tmp);
  await fs.rename(tmp, path.join(dir, name));
  await fsyncPath(dir);
}

/** Removes a backup file or a directory-format backup (or its partial), if there. */
export async function removeQuietly(p: string): Promise<void> {
  await fs.rm(p, { force: true, recursive: true });
}
