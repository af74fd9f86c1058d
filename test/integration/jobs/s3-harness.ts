// A throwaway S3-compatible server for the job integration tests: the npm package
// `s3rver` on a free loopback port, storing objects in a temp dir. s3rver checks
// access key ids but not SigV4 signatures ("unimplemented" in its source), so a
// middleware checks them (an independent SigV4 implementation, not the SDK's
// signer): a wrong secret key fails as it does on AWS, with SignatureDoesNotMatch.
import { createHash, createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './pg-harness';

// s3rver ships no types
// eslint-disable-next-line @typescript-eslint/no-var-requires
const S3rver = require('s3rver');

export const ACCESS_KEY = 'S3RVER';
export const SECRET_KEY = 'S3RVER';

interface KoaCtx {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** true when the request's SigV4 Authorization header was made with `secret`. */
export function sigV4Matches(ctx: Pick<KoaCtx, 'method' | 'url' | 'headers'>, secret: string): boolean {
  const auth = String(ctx.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return false;
  const [, , date, region, service, signedHeaders, signature] = m;
  const [rawPath, rawQuery = ''] = ctx.url.split('?');
  const query = [...new URLSearchParams(rawQuery)].map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join('&');
  const headers = signedHeaders.split(';').map((h) => `${h}:${String(ctx.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [ctx.method, rawPath, query, headers, signedHeaders, String(ctx.headers['x-amz-content-sha256'] ?? '')].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', String(ctx.headers['x-amz-date']), scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature;
}

export class S3Server {
  /** Called for every request before s3rver handles it (e.g. to kill an uploader mid-upload). */
  public onRequest: (method: string, url: string) => void = () => undefined;

  public static async start(buckets: string[] = ['backups']): Promise<S3Server> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-s3rver-'));
    const port = await freePort();
    const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: buckets.map((name) => ({ name })) });
    const self = new S3Server(server, dir, port);
    server.middleware.unshift(async (ctx: KoaCtx, next: () => Promise<void>) => {
      self.onRequest(ctx.method, ctx.url);
      if (ctx.headers.authorization && !sigV4Matches(ctx, SECRET_KEY)) {
        ctx.status = 403;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>'
          + '<Message>The request signature we calculated does not match the signature you provided.</Message></Error>';
        return;
      }
      await next();
    });
    await server.run();
    return self;
  }

  private constructor(private readonly server: { close(): Promise<void> }, public readonly dir: string, public readonly port: number) {}

  public get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Environment of a job pointed at this server. */
  public env(bucket = 'backups', prefix = 'aiaas/', secret = SECRET_KEY): Record<string, string> {
    return {
      BACKUP_BUCKET_ENDPOINT: this.endpoint, BACKUP_BUCKET_REGION: 'us-east-1', BACKUP_BUCKET: bucket,
      BACKUP_BUCKET_PREFIX: prefix, BACKUP_BUCKET_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: secret,
    };
  }

  /** Path of an object's content in s3rver's store (to corrupt it behind the server's back). */
  public objectFile(bucket: string, key: string): string {
    return path.join(this.dir, bucket, `${key}._S3rver_object`);
  }

  public async stop(): Promise<void> {
    await this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
