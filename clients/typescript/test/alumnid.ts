// Starts a real alumnid (the repository's bin/alumnid, or $ALUMNID_BIN) on a fresh database
// for integration and browser tests, and drops the database when it stops.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface Credentials {
  email: string;
  password: string;
}

export interface Alumnid {
  /** http://127.0.0.1:<port> */
  url: string;
  database: string;
  /** The signing key file (Ed25519 PKCS#8 PEM). */
  keyFile: string;
  admin: Credentials;
  staff: Credentials;
  viewer: Credentials;
  /** What the server logged (JSON lines), for failure messages. */
  log: string[];
  stop(): Promise<void>;
}

export interface StartOptions {
  alumni?: number;
  allowedOrigins?: string[];
  /** More arguments of `alumnid serve` (an OpenID provider file, the public URL). */
  serveArgs?: string[];
}

const PASSWORD = 'violet kestrel sings over quiet harbours';

function run(bin: string, args: string[], stdin?: string): Promise<string> {
  return new Promise((ok, fail) => {
    const child = execFile(bin, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      err ? fail(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stderr}`)) : ok(stdout),
    );
    child.stdin?.end(stdin ?? '');
  });
}

/** user, password, host and port of a go-sql-driver DSN such as root@tcp(127.0.0.1:3306)/. */
function parseDSN(dsn: string) {
  const m = /^([^:@]*)(?::([^@]*))?@tcp\(([^:)]+)(?::(\d+))?\)\//.exec(dsn);
  if (!m) throw new Error(`ALUMNI_TEST_DSN ${JSON.stringify(dsn)} is not user[:password]@tcp(host:port)/`);
  return { user: m[1] || 'root', password: m[2] ?? '', host: m[3]!, port: m[4] ?? '3306' };
}

function mariadb(base: string, statement: string): Promise<string> {
  const c = parseDSN(base);
  return new Promise((ok, fail) => {
    execFile(
      'mariadb',
      [`--user=${c.user}`, `--host=${c.host}`, `--port=${c.port}`, '-e', statement],
      { env: { ...process.env, MYSQL_PWD: c.password } },
      (err, stdout, stderr) => (err ? fail(new Error(`${statement}: ${stderr || err.message}`)) : ok(stdout)),
    );
  });
}

function dropDatabase(base: string, database: string): Promise<string> {
  return mariadb(base, `DROP DATABASE IF EXISTS \`${database}\``);
}

/** Migrates and seeds a new database, makes a key and three users, and serves on a free port. */
export async function startAlumnid(opts: StartOptions = {}): Promise<Alumnid> {
  const bin = process.env.ALUMNID_BIN ?? join(repoRoot, 'bin/alumnid');
  const base = process.env.ALUMNI_TEST_DSN ?? 'root@tcp(127.0.0.1:3306)/';
  const database = `alumni_client_test_${randomBytes(5).toString('hex')}`;
  const dsn = `${base}${database}`;
  const dir = await mkdtemp(join(tmpdir(), 'alumnid-client-'));
  const keyFile = join(dir, 'jwt.pem');
  const db = ['--db-dsn', dsn, '--log-format', 'json'];
  const users = {
    admin: { email: 'admin@client.test', password: PASSWORD },
    staff: { email: 'staff@client.test', password: PASSWORD },
    viewer: { email: 'viewer@client.test', password: PASSWORD },
  };
  const cleanup = async () => {
    await dropDatabase(base, database);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await run(bin, [...db, 'migrate', 'up', '--create-database']);
    // The admin signs in with a password alone: these tests are not about the second factor
    // adminsRequireTotp asks admins for (test/totp.test.ts is, with a staff user).
    await mariadb(
      base,
      `INSERT INTO \`${database}\`.settings (name, value, updated_at) VALUES ('adminsRequireTotp', 'false', UTC_TIMESTAMP(6))`,
    );
    await run(bin, [...db, 'seed', '--alumni', String(opts.alumni ?? 200)]);
    await run(bin, ['keygen', '--out', keyFile]);
    for (const [role, u] of Object.entries(users)) {
      await run(bin, [...db, 'user', 'create', '--email', u.email, '--role', role], `${u.password}\n`);
    }
  } catch (e) {
    await cleanup().catch(() => undefined);
    throw e;
  }

  const args = [...db, 'serve', '--http-addr', '127.0.0.1:0', '--jwt-key-file', keyFile];
  if (opts.allowedOrigins?.length) args.push('--allowed-origins', opts.allowedOrigins.join(','));
  if (opts.serveArgs) args.push(...opts.serveArgs);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const addr = await new Promise<string>((ok, fail) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        log.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; addr?: string };
          if (entry.msg === 'serving' && entry.addr) ok(entry.addr);
        } catch {
          // not a JSON log line
        }
      });
    }
    void exited.then((code) => fail(new Error(`alumnid serve exited (${code}) before serving:\n${log.join('\n')}`)));
  }).catch(async (e: unknown) => {
    await cleanup().catch(() => undefined);
    throw e;
  });

  return {
    url: `http://${addr}`,
    database,
    keyFile,
    ...users,
    log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await cleanup();
    },
  };
}
