// A throw-away test PKI made with the openssl CLI: a CA, leaves of every key type, an intermediate chain,
// an expired leaf and a leaf from an untrusted CA. Tests verify against it with verification ON.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  /** Trust anchor PEM path. */
  ca: string;
  /** Leaf certificate/key PEM paths by name: ec (P-256), p384, rsa, ed25519, chain (leaf via intermediate, cert file holds leaf+intermediate), expired, untrusted, client. */
  leaf: Record<'ec' | 'p384' | 'rsa' | 'ed25519' | 'chain' | 'expired' | 'untrusted' | 'client', { cert: string; key: string }>;
}

let cached: Pki | undefined;

function ossl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

const SAN = 'subjectAltName=DNS:localhost,DNS:*.test.crosswire,IP:127.0.0.1';

export function makePki(): Pki {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'crosswire-pki-'));
  const key = (name: string, kind: 'ec' | 'p384' | 'rsa' | 'ed25519') => {
    const args =
      kind === 'ec'
        ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
        : kind === 'p384'
          ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384']
          : kind === 'rsa'
            ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
            : ['genpkey', '-algorithm', 'ED25519'];
    ossl([...args, '-out', `${name}.key`], dir);
  };
  const selfSigned = (name: string, cn: string) => {
    key(name, 'ec');
    ossl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '3650', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  };
  const issue = (name: string, kind: 'ec' | 'p384' | 'rsa' | 'ed25519', issuer: string, ext: string, cn = 'localhost') => {
    key(name, kind);
    ossl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    ossl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '825', '-sha256', '-extfile', `${name}.ext`], dir);
  };
  const serverExt = `${SAN}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`;

  selfSigned('ca', 'crosswire test CA');
  selfSigned('other-ca', 'untrusted test CA');
  issue('ec', 'ec', 'ca', serverExt);
  issue('p384', 'p384', 'ca', serverExt);
  issue('rsa', 'rsa', 'ca', serverExt);
  issue('ed25519', 'ed25519', 'ca', serverExt);
  issue('untrusted', 'ec', 'other-ca', serverExt);
  issue('client', 'ec', 'ca', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n', 'crosswire client');
  issue('inter', 'ec', 'ca', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n', 'crosswire intermediate');
  issue('chain-leaf', 'ec', 'inter', serverExt);
  writeFileSync(join(dir, 'chain.pem'), readFileSync(join(dir, 'chain-leaf.pem'), 'utf8') + readFileSync(join(dir, 'inter.pem'), 'utf8'));

  // Expired leaf: `openssl ca` is the only 3.0 command that takes explicit dates.
  key('expired', 'ec');
  ossl(['req', '-new', '-key', 'expired.key', '-out', 'expired.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\ndefault_md=sha256\npolicy=p\ncopy_extensions=none\nunique_subject=no\n[p]\ncommonName=supplied\n[x]\n${serverExt}`);
  ossl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'expired.csr', '-out', 'expired.pem',
    '-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-extensions', 'x', '-notext'], dir);

  const p = (n: string) => ({ cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`) });
  cached = {
    dir,
    ca: join(dir, 'ca.pem'),
    leaf: {
      ec: p('ec'), p384: p('p384'), rsa: p('rsa'), ed25519: p('ed25519'),
      chain: { cert: join(dir, 'chain.pem'), key: join(dir, 'chain-leaf.key') },
      expired: p('expired'), untrusted: p('untrusted'), client: p('client'),
    },
  };
  return cached;
}
