// A private Docker daemon for `npm run test:image`: Debian's docker.io `dockerd` with its own
// data root, exec root, pid file and unix socket in a temp dir, so it neither needs nor
// touches a system daemon. Networking stays on the host's (no bridge, no iptables rules):
// builds and containers use --network host. `stop()` ends it by its pid and removes the dir.
import { ChildProcess, spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Debian's client: it has BuildKit built in (another `docker` on PATH may lack buildx). */
export const DOCKER_CLIENT = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';

export class DockerDaemon {
  private constructor(
    public readonly root: string,
    private readonly child: ChildProcess,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts dockerd under `root` (an empty temp dir) and waits until it answers. */
  public static async start(root: string, timeoutMs = 60000): Promise<DockerDaemon> {
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const socket = path.join(root, 'docker.sock');
    const log = fs.openSync(path.join(root, 'dockerd.log'), 'a');
    const child = spawn(DOCKERD, [
      '--data-root', path.join(root, 'data'),
      '--exec-root', path.join(root, 'exec'),
      '--pidfile', path.join(root, 'dockerd.pid'),
      '-H', `unix://${socket}`,
      '--bridge', 'none', '--iptables=false', '--ip-masq=false',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: `unix://${socket}`,
      DOCKER_BUILDKIT: '1',
      DOCKER_CONFIG: path.join(root, 'client-config'), // no user's credentials or contexts
    };
    const daemon = new DockerDaemon(root, child, env);
    const until = Date.now() + timeoutMs;
    while (daemon.run(['version', '--format', '{{.Server.Version}}'], { check: false }).status !== 0) {
      if (child.exitCode !== null || Date.now() > until) {
        const tail = daemon.logTail();
        await daemon.stop();
        throw new Error(`dockerd did not start within ${timeoutMs / 1000}s (exit ${child.exitCode}); its log ends:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return daemon;
  }

  public get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs the docker client against this daemon; throws with its output unless it exits 0 (or `check: false`). */
  public run(args: string[], opts: { check?: boolean; input?: string | Buffer; timeoutMs?: number; stdio?: SpawnSyncOptions['stdio'] } = {})
    : { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(DOCKER_CLIENT, args, {
      env: this.env, input: opts.input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
      timeout: opts.timeoutMs ?? 30 * 60 * 1000, stdio: opts.stdio,
    });
    const result = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if ((opts.check ?? true) && r.status !== 0) {
      throw new Error(`docker ${args.join(' ')} exited ${r.status ?? r.signal ?? r.error?.message}:\n${result.stdout}\n${result.stderr}`);
    }
    return result;
  }

  /** The client's environment, for commands that pipe (docker import, docker save). */
  public clientEnv(): NodeJS.ProcessEnv {
    return this.env;
  }

  public logTail(lines = 40): string {
    try {
      return fs.readFileSync(path.join(this.root, 'dockerd.log'), 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM to the daemon we started (SIGKILL after 30 s), unmount what it left, remove its dir. */
  public async stop(): Promise<void> {
    const { pid } = this.child;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30000);
      await exited;
      clearTimeout(timer);
    }
    // Mounts under our root (overlay layers, netns files) would keep `rm -rf` from finishing.
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n')
      .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
      .filter((m): m is string => !!m && m.startsWith(`${this.root}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) spawnSync('umount', ['-l', m]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
