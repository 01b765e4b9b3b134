// Certificates for real-peer runs: a CA and an EC P-256 leaf for localhost, 127.0.0.1 and ::1, valid around the real
// clock (virtual-time runs use the fixed-date simulation PKI instead). Made once per process with the system openssl
// and copied into each run's certs/ folder as quic-interop-runner's endpoints expect (priv.key, cert.pem) plus ca.pem.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let made: string | undefined;

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makePki(): string {
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-pki-'));
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n',
  );
  openssl(['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=crosswire test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '30', '-extfile', 'leaf.ext'], dir);
  // PKCS#8 for the key: every peer reads it.
  openssl(['pkey', '-in', 'leaf.key', '-out', 'priv.key'], dir);
  return dir;
}

export interface RunCerts {
  dir: string;
  cert: string;
  key: string;
  ca: string;
}

/** Writes certs/ for one run: priv.key, cert.pem (the leaf; its issuer is ca.pem) and ca.pem. */
export function writeRunCerts(dir: string): RunCerts {
  if (!made || !existsSync(join(made, 'priv.key'))) {
    try {
      made = makePki();
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`could not make test certificates with openssl: ${err.stderr?.toString().trim().split('\n')[0] ?? err.message}`);
    }
  }
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(made, 'priv.key'), join(dir, 'priv.key'));
  copyFileSync(join(made, 'leaf.pem'), join(dir, 'cert.pem'));
  copyFileSync(join(made, 'ca.pem'), join(dir, 'ca.pem'));
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'priv.key'), ca: join(dir, 'ca.pem') };
}
