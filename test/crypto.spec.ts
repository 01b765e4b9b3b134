// Conformance suite for the CryptoProvider backends: every case runs against each of CRYPTO_BACKENDS (noble, node and
// sodium; sodium is node's code except for ChaCha20-Poly1305 and ChaCha20 header protection), with RFC/NIST vectors
// where they exist and node:crypto / the openssl CLI as independent oracles for signatures.

import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as nodeCryptoLib from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { CRYPTO_BACKENDS, cryptoProvider, nobleCrypto, nodeCrypto, sodiumCrypto, CryptoError, type CryptoProvider, type PrivateKey, type PublicKey, type SignatureAlgorithm } from '../engine/crypto/index.js';
import { hkdfExpandLabel } from '../engine/crypto/hkdf-label.js';
import { chacha20BlockFunction } from '../engine/crypto/chacha-block.js';
import { seededRandom } from '../engine/crypto/random.js';
import { hmacSha256, hmacSha256Key, sha256 } from '../engine/crypto/sha256.js';
import { fromHex, hex } from '../engine/wire/bytes.js';
import { makePki } from './helpers/pki.js';

const BACKENDS = CRYPTO_BACKENDS;
const utf8 = (s: string) => new TextEncoder().encode(s);
const empty = new Uint8Array(0);
const noRandom = (): Uint8Array => {
  throw new Error('this operation must not draw randomness');
};

// ---- key helpers: node:crypto KeyObjects → the provider's PublicKey/PrivateKey unions ----

const b64uToBytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
const b64uToBig = (s: string) => BigInt('0x' + (Buffer.from(s, 'base64url').toString('hex') || '0'));

interface TestKey {
  priv: PrivateKey;
  pub: PublicKey;
  nodePriv: nodeCryptoLib.KeyObject;
  nodePub: nodeCryptoLib.KeyObject;
}

function fromKeyObject(nodePriv: nodeCryptoLib.KeyObject): TestKey {
  const nodePub = nodeCryptoLib.createPublicKey(nodePriv);
  const jwk = nodePriv.export({ format: 'jwk' });
  const spki = new Uint8Array(nodePub.export({ type: 'spki', format: 'der' }));
  if (jwk.kty === 'EC') {
    const curve = jwk.crv === 'P-256' ? 'secp256r1' : 'secp384r1';
    const point = new Uint8Array([4, ...b64uToBytes(jwk.x!), ...b64uToBytes(jwk.y!)]);
    return { priv: { kind: 'ec', curve, d: b64uToBytes(jwk.d!), publicPoint: point }, pub: { kind: 'ec', curve, point, spki }, nodePriv, nodePub };
  }
  if (jwk.kty === 'OKP') {
    const key = b64uToBytes(jwk.x!);
    return { priv: { kind: 'ed25519', seed: b64uToBytes(jwk.d!), publicKey: key }, pub: { kind: 'ed25519', key, spki }, nodePriv, nodePub };
  }
  const n = b64uToBig(jwk.n!);
  const e = b64uToBig(jwk.e!);
  return {
    priv: { kind: 'rsa', n, e, d: b64uToBig(jwk.d!), p: b64uToBig(jwk.p!), q: b64uToBig(jwk.q!), dp: b64uToBig(jwk.dp!), dq: b64uToBig(jwk.dq!), qinv: b64uToBig(jwk.qi!) },
    pub: { kind: 'rsa', n, e, spki },
    nodePriv,
    nodePub,
  };
}

const keyCache = new Map<string, TestKey>();
function testKey(kind: 'p256' | 'p384' | 'ed25519' | 'rsa2048' | 'rsa1025'): TestKey {
  let k = keyCache.get(kind);
  if (!k) {
    const pair =
      kind === 'p256' ? nodeCryptoLib.generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : kind === 'p384' ? nodeCryptoLib.generateKeyPairSync('ec', { namedCurve: 'P-384' })
          : kind === 'ed25519' ? nodeCryptoLib.generateKeyPairSync('ed25519')
            : nodeCryptoLib.generateKeyPairSync('rsa', { modulusLength: kind === 'rsa2048' ? 2048 : 1025 });
    k = fromKeyObject(pair.privateKey);
    keyCache.set(kind, k);
  }
  return k;
}

/** What each algorithm means to node:crypto, used as the independent verifier. */
function oracleVerify(alg: SignatureAlgorithm, key: TestKey, message: Uint8Array, sig: Uint8Array): boolean {
  const hash = alg === 'ed25519' ? null : alg.slice(alg.lastIndexOf('_') + 1);
  if (alg.startsWith('ecdsa')) return nodeCryptoLib.verify(hash, message, { key: key.nodePub, dsaEncoding: 'der' }, sig);
  if (alg.startsWith('rsa_pss')) {
    return nodeCryptoLib.verify(hash, message, { key: key.nodePub, padding: nodeCryptoLib.constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeCryptoLib.constants.RSA_PSS_SALTLEN_DIGEST }, sig);
  }
  if (alg.startsWith('rsa_pkcs1')) return nodeCryptoLib.verify(hash, message, { key: key.nodePub, padding: nodeCryptoLib.constants.RSA_PKCS1_PADDING }, sig);
  return nodeCryptoLib.verify(null, message, key.nodePub, sig);
}

const SIGNING_CASES: [SignatureAlgorithm, Parameters<typeof testKey>[0]][] = [
  ['ecdsa_secp256r1_sha256', 'p256'],
  ['ecdsa_secp384r1_sha384', 'p384'],
  ['ecdsa_secp256r1_sha384', 'p256'],
  ['ecdsa_secp384r1_sha256', 'p384'],
  ['ed25519', 'ed25519'],
  ['rsa_pss_rsae_sha256', 'rsa2048'],
  ['rsa_pss_rsae_sha384', 'rsa2048'],
  ['rsa_pss_rsae_sha512', 'rsa2048'],
  ['rsa_pss_rsae_sha256', 'rsa1025'], // modulus bits ≡ 1 (mod 8): EM is one byte shorter than the modulus
  ['rsa_pkcs1_sha256', 'rsa2048'],
  ['rsa_pkcs1_sha384', 'rsa2048'],
  ['rsa_pkcs1_sha512', 'rsa2048'],
  ['rsa_pkcs1_sha1', 'rsa2048'],
];

// P-256 group order, for building high-S twins of signatures.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function derSignature(r: bigint, s: bigint): Uint8Array {
  const int = (v: bigint) => {
    let h = v.toString(16);
    if (h.length % 2) h = '0' + h;
    if (parseInt(h.slice(0, 2), 16) >= 0x80) h = '00' + h;
    const b = fromHex(h);
    return [0x02, b.length, ...b];
  };
  const body = [...int(r), ...int(s)];
  return new Uint8Array([0x30, body.length, ...body]);
}

function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint } {
  const rLen = sig[3];
  const r = BigInt('0x' + hex(sig.subarray(4, 4 + rLen)));
  const sLen = sig[5 + rLen];
  const s = BigInt('0x' + hex(sig.subarray(6 + rLen, 6 + rLen + sLen)));
  return { r, s };
}

function flipBit(b: Uint8Array, index: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[index] ^= 0x01;
  return c;
}

test('cryptoProvider() selects backends by name, noble by default', () => {
  expect(cryptoProvider()).toBe(nobleCrypto);
  expect(cryptoProvider('noble').name).toBe('noble');
  expect(cryptoProvider('node')).toBe(nodeCrypto);
  expect(() => cryptoProvider('openssl' as 'node')).toThrow(/unknown crypto backend/);
  const sodium = cryptoProvider('sodium');
  expect(sodium.name).toBe('sodium');
  expect(cryptoProvider('sodium')).toBe(sodium); // sodium-native is loaded once
});

test('sodium backend without the sodium-native package: choosing it fails with a CryptoError naming the package', () => {
  const missing = () => {
    throw Object.assign(new Error("Cannot find module 'sodium-native'\nRequire stack:\n- engine/crypto/sodium.js"), { code: 'MODULE_NOT_FOUND' });
  };
  expect(() => sodiumCrypto(missing)).toThrow(CryptoError);
  expect(() => sodiumCrypto(missing)).toThrow(/crypto backend 'sodium' needs the npm package sodium-native.*npm install sodium-native/);
  expect(() => sodiumCrypto(() => ({}))).toThrow(/sodium-native lacks the ChaCha20-Poly1305/);
  // The failed loads cached nothing: the real package still serves.
  expect(sodiumCrypto().name).toBe('sodium');
});

test('sodium ChaCha20-Poly1305 and ChaCha20 masks equal OpenSSL and noble for every length 0..300, misaligned views and counters near 2^32', () => {
  const rnd = seededRandom('sodium-oracle', (d) => nobleCrypto.hash('sha256', d));
  const sodium = cryptoProvider('sodium');
  for (let len = 0; len <= 300; len++) {
    const key = rnd(32);
    const nonce = rnd(12);
    const aad = rnd(len % 37);
    const pt = rnd(len);
    const cipher = nodeCryptoLib.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    const want = hex(Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()]));
    const a = sodium.aead('chacha20-poly1305', key);
    expect(hex(a.seal(nonce, pt, aad)), `length ${len}`).toBe(want);
    // A view at an odd offset into a larger buffer, as packets arrive inside datagrams.
    const shifted = new Uint8Array(want.length / 2 + 3);
    shifted.set(fromHex(want), 3);
    expect(a.open(nonce, shifted.subarray(3), aad)).toEqual(pt);
    expect(a.open(nonce, flipBit(shifted.subarray(3), len), aad)).toBeNull();
    const sample = rnd(16);
    if (len % 4 === 0) sample.set([0xff, 0xff, 0xff, len % 8 === 0 ? 0xff : 0x7f]); // counter 0xffffffff / 0x7fffffff
    const hpKey = rnd(32);
    expect(hex(sodium.headerProtection('chacha20', hpKey).mask(sample))).toBe(hex(nobleCrypto.headerProtection('chacha20', hpKey).mask(sample)));
  }
});

test('sha256.ts: FIPS 180-2 and RFC 4231 vectors; SHA-256, HMAC-SHA-256 (one-off and keyed once) and the JS HKDF of the node backend equal OpenSSL for every length 0..200, every split, long keys, and never reuse a changed PRK', () => {
  // FIPS 180-2 Appendix B.2 (two blocks), B.3 (a million 'a', many blocks through the partial-block path).
  expect(hex(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  expect(hex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  // RFC 4231 §4.7: a 131-byte key (hashed first) and a 152-byte message.
  const longKey = new Uint8Array(131).fill(0xaa);
  const longMsg = utf8('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.');
  expect(hex(hmacSha256(hmacSha256Key(longKey), longMsg))).toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  expect(hex(nodeCrypto.hmac('sha256', longKey, longMsg))).toBe('9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  for (let n = 0; n <= 200; n++) {
    const d = nodeCryptoLib.randomBytes(n);
    expect(hex(sha256(d))).toBe(nodeCryptoLib.createHash('sha256').update(d).digest('hex'));
    expect(hex(nodeCrypto.hash('sha256', d))).toBe(nodeCryptoLib.createHash('sha256').update(d).digest('hex')); // JS up to 192 bytes, OpenSSL past
    for (const kl of [0, 32, 64, 65, 130]) {
      const k = nodeCryptoLib.randomBytes(kl);
      const want = nodeCryptoLib.createHmac('sha256', k).update(d).digest('hex');
      expect(hex(hmacSha256(hmacSha256Key(k), d.subarray(0, n >> 1), d.subarray(n >> 1)))).toBe(want);
      expect(hex(nodeCrypto.hmac('sha256', k, d))).toBe(want);
    }
    // Every split point of the message into three parts lands in the partial-block path somewhere.
    if (n % 7 === 0) {
      const k = nodeCryptoLib.randomBytes(32);
      const want = nodeCryptoLib.createHmac('sha256', k).update(d).digest('hex');
      for (let a = 0; a <= n; a += 3) expect(hex(hmacSha256(hmacSha256Key(k), d.subarray(0, a), d.subarray(a, (a + n) >> 1), d.subarray((a + n) >> 1)))).toBe(want);
    }
    const prk = nodeCryptoLib.randomBytes(32);
    const info = d.subarray(0, n % 90);
    const reference = (key: Uint8Array, len: number) => {
      let t = Buffer.alloc(0);
      let o = Buffer.alloc(0);
      for (let i = 1; o.length < len; i++) {
        t = nodeCryptoLib.createHmac('sha256', key).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
        o = Buffer.concat([o, t]);
      }
      return o.subarray(0, len).toString('hex');
    };
    for (const len of [12, 16, 32, 33, 100]) expect(hex(nodeCrypto.hkdfExpand('sha256', prk, info, len))).toBe(reference(prk, len));
    prk[0]! ^= 1; // the same (Buffer) object with other bytes: the cached pad states must not be used
    expect(hex(nodeCrypto.hkdfExpand('sha256', prk, info, 32))).toBe(reference(prk, 32));
  }
});

test('ChaCha20 block function: RFC 8439 §2.3.2 keystream block, and counter 0xffffffff matches OpenSSL', () => {
  const key = new Uint8Array(32).map((_, i) => i);
  const block = chacha20BlockFunction(key);
  expect(hex(block(1, fromHex('000000090000004a00000000'), 64))).toBe(
    '10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4ed2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e');
  for (const counter of [0, 0x7fffffff, 0x80000000, 0xffffffff]) {
    const nonce = fromHex('0102030405060708090a0b0c');
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(0, counter, true);
    iv.set(nonce, 4);
    const openssl = nodeCryptoLib.createCipheriv('chacha20', key, iv).update(new Uint8Array(64));
    expect(hex(block(counter, nonce, 64))).toBe(openssl.toString('hex'));
  }
});

test('noble AES-GCM (per-key tables) equals noble gcm() and OpenSSL for every length 0..80, misaligned buffers and key reuse', () => {
  for (const name of ['aes-128-gcm', 'aes-256-gcm'] as const) {
    const keyBytes = new Uint8Array(name === 'aes-128-gcm' ? 16 : 32).map((_, i) => 0x20 + i);
    const aead = nobleCrypto.aead(name, keyBytes);
    for (let len = 0; len <= 80; len++) {
      const nonce = new Uint8Array(12).map((_, i) => len * 3 + i);
      // Offsets 1 and 3 make the inputs misaligned views into a larger buffer.
      const pt = new Uint8Array(len + 1).map((_, i) => (i * 29 + len) & 0xff).subarray(1);
      const aad = new Uint8Array((len % 23) + 3).map((_, i) => i ^ len).subarray(3);
      const reference = gcm(keyBytes, nonce, aad).encrypt(pt);
      const cipher = nodeCryptoLib.createCipheriv(name, keyBytes, nonce);
      cipher.setAAD(aad);
      const openssl = Buffer.concat([cipher.update(pt), cipher.final(), cipher.getAuthTag()]);
      const sealed = aead.seal(nonce, pt, aad);
      expect(hex(sealed), `${name} len ${len}`).toBe(hex(reference));
      expect(hex(sealed)).toBe(openssl.toString('hex'));
      const shifted = new Uint8Array(sealed.length + 3);
      shifted.set(sealed, 3);
      expect(aead.open(nonce, shifted.subarray(3), aad)).toEqual(pt);
      expect(aead.open(nonce, flipBit(sealed, len), aad)).toBeNull();
    }
  }
});

for (const backend of BACKENDS) {
  test.describe(`${backend} backend`, () => {
    const c: CryptoProvider = cryptoProvider(backend);

    test('SHA-256 / SHA-384 of "abc" (FIPS 180-2 examples) and hash lengths', () => {
      expect(hex(c.hash('sha256', utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
      expect(hex(c.hash('sha384', utf8('abc')))).toBe(
        'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7');
      expect(hex(c.hash('sha256', empty))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
      expect(c.hashLength('sha256')).toBe(32);
      expect(c.hashLength('sha384')).toBe(48);
    });

    test('incremental hasher: digest() is a snapshot and clone() branches the transcript', () => {
      for (const h of ['sha256', 'sha384'] as const) {
        const t = c.hasher(h);
        t.update(utf8('a'));
        const branch = t.clone();
        expect(hex(t.digest())).toBe(hex(c.hash(h, utf8('a'))));
        t.update(utf8('bc'));
        expect(hex(t.digest())).toBe(hex(c.hash(h, utf8('abc'))));
        expect(hex(t.digest())).toBe(hex(c.hash(h, utf8('abc')))); // digest twice: state not consumed
        branch.update(utf8('xyz'));
        expect(hex(branch.digest())).toBe(hex(c.hash(h, utf8('axyz'))));
        expect(hex(t.digest())).toBe(hex(c.hash(h, utf8('abc')))); // the branch did not disturb the original
      }
    });

    test('HMAC-SHA-256/384: RFC 4231 test cases 1, 2 and 6', () => {
      const k1 = new Uint8Array(20).fill(0x0b);
      expect(hex(c.hmac('sha256', k1, utf8('Hi There')))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
      expect(hex(c.hmac('sha384', k1, utf8('Hi There')))).toBe(
        'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6');
      expect(hex(c.hmac('sha256', utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
      expect(hex(c.hmac('sha384', utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
        'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649');
      // Test case 6: a key longer than the block size is hashed first.
      const k6 = new Uint8Array(131).fill(0xaa);
      expect(hex(c.hmac('sha256', k6, utf8('Test Using Larger Than Block-Size Key - Hash Key First')))).toBe(
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
    });

    test('HKDF-SHA-256: RFC 5869 A.1 (extract then expand), and the empty-salt case A.3', () => {
      const prk = c.hkdfExtract('sha256', fromHex('000102030405060708090a0b0c'), new Uint8Array(22).fill(0x0b));
      expect(hex(prk)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
      expect(hex(c.hkdfExpand('sha256', prk, fromHex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
        '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
      const prk3 = c.hkdfExtract('sha256', empty, new Uint8Array(22).fill(0x0b));
      expect(hex(prk3)).toBe('19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04');
      expect(hex(c.hkdfExpand('sha256', prk3, empty, 42))).toBe(
        '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8');
    });

    test('AES-GCM: NIST/McGrew-Viega test cases 2, 4 (AES-128) and 16 (AES-256) seal and open', () => {
      const z = c.aead('aes-128-gcm', new Uint8Array(16));
      expect(z.keyLength).toBe(16);
      expect(z.tagLength).toBe(16);
      expect(hex(z.seal(new Uint8Array(12), new Uint8Array(16), empty))).toBe('0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf');

      const p = fromHex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39');
      const aad = fromHex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
      const iv = fromHex('cafebabefacedbaddecaf888');
      const cases: ['aes-128-gcm' | 'aes-256-gcm', string, string][] = [
        ['aes-128-gcm', 'feffe9928665731c6d6a8f9467308308',
          '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091' +
          '5bc94fbc3221a5db94fae95ae7121a47'],
        ['aes-256-gcm', 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
          '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
          '76fc6ece0f4e1768cddf8853bb2d551b'],
      ];
      for (const [name, key, expected] of cases) {
        const a = c.aead(name, fromHex(key));
        expect(hex(a.seal(iv, p, aad))).toBe(expected);
        expect(hex(a.open(iv, fromHex(expected), aad)!)).toBe(hex(p));
      }
    });

    test('ChaCha20-Poly1305: RFC 8439 §2.8.2 seal and open', () => {
      const a = c.aead('chacha20-poly1305', fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'));
      const nonce = fromHex('070000004041424344454647');
      const aad = fromHex('50515253c0c1c2c3c4c5c6c7');
      const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
      const sealed =
        'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36' +
        '92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
        '1ae10b594f09e26a7e902ecbd0600691';
      expect(hex(a.seal(nonce, pt, aad))).toBe(sealed);
      expect(a.open(nonce, fromHex(sealed), aad)).toEqual(pt);
    });

    test('ChaCha20-Poly1305: RFC 8439 Appendix A.5 decryption of the Internet-Draft boilerplate', () => {
      const a = c.aead('chacha20-poly1305', fromHex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0'));
      const nonce = fromHex('000000000102030405060708');
      const aad = fromHex('f33388860000000000004e91');
      const sealed = fromHex(
        '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf' +
        '332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4' +
        'b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
        '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29' +
        'a6ad5cb4022b02709b' + 'eead9d67890cbb22392336fea1851f38',
      );
      const pt = a.open(nonce, sealed, aad);
      expect(pt).not.toBeNull();
      const text = new TextDecoder().decode(pt!);
      expect(text.startsWith('Internet-Drafts are draft documents valid for a maximum of six months')).toBe(true);
      expect(text.endsWith('\u201cwork in progress./\u201d')).toBe(true);
      expect(hex(a.seal(nonce, pt!, aad))).toBe(hex(sealed));
      expect(a.open(nonce, flipBit(sealed, 100), aad)).toBeNull();
    });

    test('AEAD tampering (ciphertext, tag, AAD, nonce, truncation) makes open() return null, never throw', () => {
      for (const name of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
        const key = new Uint8Array(name === 'aes-128-gcm' ? 16 : 32).map((_, i) => i * 7);
        const a = c.aead(name, key);
        const nonce = fromHex('000102030405060708090a0b');
        const aad = utf8('header');
        const pt = new Uint8Array(1200).map((_, i) => i & 0xff);
        const sealed = a.seal(nonce, pt, aad);
        expect(sealed.length).toBe(1216);
        expect(a.open(nonce, sealed, aad)).toEqual(pt);
        expect(a.open(nonce, flipBit(sealed, 0), aad)).toBeNull();
        expect(a.open(nonce, flipBit(sealed, 600), aad)).toBeNull();
        expect(a.open(nonce, flipBit(sealed, sealed.length - 1), aad)).toBeNull(); // tag
        expect(a.open(nonce, sealed, flipBit(aad, 2))).toBeNull();
        expect(a.open(flipBit(nonce, 11), sealed, aad)).toBeNull();
        expect(a.open(nonce, sealed.subarray(0, sealed.length - 1), aad)).toBeNull();
        expect(a.open(nonce, sealed.subarray(0, 15), aad)).toBeNull(); // shorter than a tag
        expect(a.open(nonce.subarray(0, 8), sealed, aad)).toBeNull(); // wrong nonce size
        // An empty plaintext still authenticates.
        const tagOnly = a.seal(nonce, empty, aad);
        expect(tagOnly.length).toBe(16);
        expect(a.open(nonce, tagOnly, aad)).toEqual(empty);
        expect(a.open(nonce, flipBit(tagOnly, 3), aad)).toBeNull();
      }
      expect(() => c.aead('aes-128-gcm', new Uint8Array(32))).toThrow(CryptoError);
      expect(() => c.aead('chacha20-poly1305', new Uint8Array(16))).toThrow(CryptoError);
    });

    test('sealInPlace (when the backend has it) writes exactly what seal() returns, for every AEAD and length', () => {
      for (const name of ['aes-128-gcm', 'aes-256-gcm', 'chacha20-poly1305'] as const) {
        const a = c.aead(name, new Uint8Array(name === 'aes-128-gcm' ? 16 : 32).map((_, i) => i * 3 + 1));
        if (!a.sealInPlace) continue; // optional: protection.ts falls back to seal() and a copy
        for (const [aadLength, n] of [[1, 20], [20, 0], [33, 1162], [5, 1]] as const) {
          const nonce = new Uint8Array(12).map((_, i) => i + n);
          const packet = new Uint8Array(aadLength + n + 16).map((_, i) => (i * 29) & 0xff);
          const expected = a.seal(nonce, packet.slice(aadLength, aadLength + n), packet.slice(0, aadLength));
          const header = packet.slice(0, aadLength);
          a.sealInPlace(nonce, packet, aadLength, n);
          expect(hex(packet.subarray(0, aadLength)), `${name} header untouched`).toBe(hex(header));
          expect(hex(packet.subarray(aadLength)), `${name} ${aadLength}+${n}`).toBe(hex(expected));
          expect(a.open(nonce, packet.subarray(aadLength), header)).not.toBeNull();
        }
      }
    });

    test('RFC 9001 A.1: QUIC v1 initial secrets, keys, IVs and header-protection keys', () => {
      const initialSalt = fromHex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a');
      const initial = c.hkdfExtract('sha256', initialSalt, fromHex('8394c8f03e515708'));
      expect(hex(initial)).toBe('7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44');
      const label = (secret: Uint8Array, l: string, n: number) => hkdfExpandLabel(c, 'sha256', secret, l, empty, n);
      const client = label(initial, 'client in', 32);
      const server = label(initial, 'server in', 32);
      expect(hex(client)).toBe('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
      expect(hex(label(client, 'quic key', 16))).toBe('1f369613dd76d5467730efcbe3b1a22d');
      expect(hex(label(client, 'quic iv', 12))).toBe('fa044b2f42a3fd3b46fb255c');
      expect(hex(label(client, 'quic hp', 16))).toBe('9f50449e04a0e810283a1e9933adedd2');
      expect(hex(server)).toBe('3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b');
      expect(hex(label(server, 'quic key', 16))).toBe('cf3a5331653c364c88f0f379b6067e37');
      expect(hex(label(server, 'quic iv', 12))).toBe('0ac1493ca1905853b0bba03e');
      expect(hex(label(server, 'quic hp', 16))).toBe('c206b8d9b9f0f37644430b490eeaa314');
    });

    test('RFC 9001 A.2/A.3: AES-128 header-protection masks of the client and server Initial', () => {
      const clientHp = c.headerProtection('aes-128', fromHex('9f50449e04a0e810283a1e9933adedd2'));
      expect(hex(clientHp.mask(fromHex('d1b1c98dd7689fb8ec11d242b123dc9b')))).toBe('437b9aec36');
      const serverHp = c.headerProtection('aes-128', fromHex('c206b8d9b9f0f37644430b490eeaa314'));
      expect(hex(serverHp.mask(fromHex('2cd0991cd25b0aac406a5816b6394100')))).toBe('2ec0d8356a');
      // The mask object is reusable and does not mutate the sample.
      const sample = fromHex('d1b1c98dd7689fb8ec11d242b123dc9b');
      expect(hex(clientHp.mask(sample))).toBe('437b9aec36');
      expect(hex(sample)).toBe('d1b1c98dd7689fb8ec11d242b123dc9b');
    });

    test('RFC 9001 A.3: the server Initial payload seals to the published packet bytes', () => {
      const aead = c.aead('aes-128-gcm', fromHex('cf3a5331653c364c88f0f379b6067e37'));
      const nonce = fromHex('0ac1493ca1905853b0bba03f'); // iv XOR packet number 1
      const header = fromHex('c1000000010008f067a5502a4262b50040750001');
      const payload = fromHex(
        '02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00020304');
      const sealed = aead.seal(nonce, payload, header);
      expect(hex(sealed)).toBe(
        '5a482cd0991cd25b0aac406a5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407dd074ee');
      expect(aead.open(nonce, sealed, header)).toEqual(payload);
    });

    test('RFC 9001 A.5: ChaCha20-Poly1305 short-header packet — keys, payload and header-protection mask', () => {
      const secret = fromHex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');
      const label = (l: string, n: number) => hkdfExpandLabel(c, 'sha256', secret, l, empty, n);
      const key = label('quic key', 32);
      const hp = label('quic hp', 32);
      expect(hex(key)).toBe('c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8');
      expect(hex(label('quic iv', 12))).toBe('e0459b3474bdd0e44a41c144');
      expect(hex(hp)).toBe('25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4');
      expect(hex(label('quic ku', 32))).toBe('1223504755036d556342ee9361d253421a826c9ecdf3c7148684b36b714881f9');
      const sealed = c.aead('chacha20-poly1305', key).seal(fromHex('e0459b3474bdd0e46d417eb0'), fromHex('01'), fromHex('4200bff4'));
      expect(hex(sealed)).toBe('655e5cd55c41f69080575d7999c25a5bfb');
      expect(hex(c.headerProtection('chacha20', hp).mask(sealed.subarray(1, 17)))).toBe('aefefe7d03');
    });

    test('RFC 9369 A.1/A.2/A.3/A.5: QUIC v2 initial secrets, "quicv2" labels, AES and ChaCha20 masks', () => {
      const initial = c.hkdfExtract('sha256', fromHex('0dede3def700a6db819381be6e269dcbf9bd2ed9'), fromHex('8394c8f03e515708'));
      expect(hex(initial)).toBe('2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba');
      const label = (secret: Uint8Array, l: string, n: number) => hkdfExpandLabel(c, 'sha256', secret, l, empty, n);
      const client = label(initial, 'client in', 32);
      const server = label(initial, 'server in', 32);
      expect(hex(client)).toBe('14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b');
      expect(hex(label(client, 'quicv2 key', 16))).toBe('8b1a0bc121284290a29e0971b5cd045d');
      expect(hex(label(client, 'quicv2 iv', 12))).toBe('91f73e2351d8fa91660e909f');
      expect(hex(label(client, 'quicv2 hp', 16))).toBe('45b95e15235d6f45a6b19cbcb0294ba9');
      expect(hex(server)).toBe('0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1');
      expect(hex(label(server, 'quicv2 key', 16))).toBe('82db637861d55e1d011f19ea71d5d2a7');
      expect(hex(label(server, 'quicv2 iv', 12))).toBe('dd13c276499c0249d3310652');
      expect(hex(label(server, 'quicv2 hp', 16))).toBe('edf6d05c83121201b436e16877593c3a');
      expect(hex(c.headerProtection('aes-128', label(client, 'quicv2 hp', 16)).mask(fromHex('ffe67b6abcdb4298b485dd04de806071')))).toBe('94a0c95e80');
      expect(hex(c.headerProtection('aes-128', label(server, 'quicv2 hp', 16)).mask(fromHex('6f05d8a4398c47089698baeea26b91eb')))).toBe('4dd92e91ea');

      const secret = fromHex('9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b');
      const key = label(secret, 'quicv2 key', 32);
      const hp = label(secret, 'quicv2 hp', 32);
      expect(hex(key)).toBe('3bfcddd72bcf02541d7fa0dd1f5f9eeea817e09a6963a0e6c7df0f9a1bab90f2');
      expect(hex(label(secret, 'quicv2 iv', 12))).toBe('a6b5bc6ab7dafce30ffff5dd');
      expect(hex(hp)).toBe('d659760d2ba434a226fd37b35c69e2da8211d10c4f12538787d65645d5d1b8e2');
      expect(hex(label(secret, 'quicv2 ku', 32))).toBe('c69374c49e3d2a9466fa689e49d476db5d0dfbc87d32ceeaa6343fd0ae4c7d88');
      const sealed = c.aead('chacha20-poly1305', key).seal(fromHex('a6b5bc6ab7dafce328ff4a29'), fromHex('01'), fromHex('4200bff4'));
      expect(hex(sealed)).toBe('0ae7b6b932bc27d786f4bc2bb20f2162ba');
      expect(hex(c.headerProtection('chacha20', hp).mask(sealed.subarray(1, 17)))).toBe('97580e32bf');
    });

    test('RFC 8448 §3: X25519 key shares and the start of the TLS 1.3 key schedule', () => {
      const client = c.ecdhGenerate('x25519', () => fromHex('49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005'));
      const server = c.ecdhGenerate('x25519', () => fromHex('b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e'));
      expect(hex(client.publicKey)).toBe('99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c');
      expect(hex(server.publicKey)).toBe('c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f');
      const shared = server.deriveSecret(client.publicKey);
      expect(hex(shared)).toBe('8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d');
      const early = c.hkdfExtract('sha256', empty, new Uint8Array(32));
      expect(hex(early)).toBe('33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a');
      const derived = hkdfExpandLabel(c, 'sha256', early, 'derived', c.hash('sha256', empty), 32);
      expect(hex(derived)).toBe('6f2615a108c702c5678f54fc9dbab69716c076189c48250cebeac3576c3611ba');
      expect(hex(c.hkdfExtract('sha256', derived, shared))).toBe('1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac');
    });

    test('HKDF-Expand refuses more than 255 blocks with CryptoError; SHA-384 expand agrees across backends', () => {
      expect(() => c.hkdfExpand('sha256', new Uint8Array(32), empty, 255 * 32 + 1)).toThrow(CryptoError);
      expect(c.hkdfExpand('sha256', new Uint8Array(32), empty, 255 * 32).length).toBe(8160);
      const other = cryptoProvider(backend === 'noble' ? 'node' : 'noble');
      const prk = c.hkdfExtract('sha384', utf8('salt'), utf8('ikm'));
      expect(hex(prk)).toBe(hex(other.hkdfExtract('sha384', utf8('salt'), utf8('ikm'))));
      expect(hex(c.hkdfExpand('sha384', prk, utf8('info'), 100))).toBe(hex(other.hkdfExpand('sha384', prk, utf8('info'), 100)));
      expect(c.hkdfExpand('sha256', prk, empty, 0).length).toBe(0);
    });

    test('ChaCha20 header protection uses a counter above 2^31 without sign trouble, AES-256 works, bad keys throw', () => {
      const hp = c.headerProtection('chacha20', new Uint8Array(32).fill(1));
      const other = cryptoProvider(backend === 'noble' ? 'node' : 'noble').headerProtection('chacha20', new Uint8Array(32).fill(1));
      const sample = fromHex('ffffffff0102030405060708090a0b0c'); // counter 0xffffffff
      expect(hex(hp.mask(sample))).toBe(hex(other.mask(sample)));
      const aes256 = c.headerProtection('aes-256', new Uint8Array(32).fill(2));
      const block = nodeCryptoLib.createCipheriv('aes-256-ecb', Buffer.alloc(32, 2), null).update(Buffer.from(sample));
      expect(hex(aes256.mask(sample))).toBe(block.subarray(0, 5).toString('hex'));
      expect(() => c.headerProtection('aes-128', new Uint8Array(32))).toThrow(CryptoError);
    });

    test('AES header protection masks match OpenSSL ECB for 200 seeded AES-128 and AES-256 keys and samples', () => {
      const rnd = seededRandom('aes-hp-oracle', (d) => nobleCrypto.hash('sha256', d));
      for (const [name, bytes] of [['aes-128', 16], ['aes-256', 32]] as const) {
        for (let i = 0; i < 200; i++) {
          const key = rnd(bytes);
          const sample = rnd(16);
          const want = nodeCryptoLib.createCipheriv(`${name}-ecb`, key, null).setAutoPadding(false).update(sample).subarray(0, 5);
          expect(hex(c.headerProtection(name, key).mask(sample))).toBe(want.toString('hex'));
        }
      }
    });

    test('X25519: RFC 7748 §6.1 key pairs and shared secret, with the private key drawn from the injected random', () => {
      const alicePriv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
      const bobPriv = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
      const alice = c.ecdhGenerate('x25519', () => Uint8Array.from(alicePriv));
      const bob = c.ecdhGenerate('x25519', () => Uint8Array.from(bobPriv));
      expect(alice.group).toBe('x25519');
      expect(hex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
      expect(hex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
      expect(hex(alice.deriveSecret(bob.publicKey))).toBe(shared);
      expect(hex(bob.deriveSecret(alice.publicKey))).toBe(shared);
    });

    test('X25519 rejects low-order peer keys (all-zero output) and wrong lengths with CryptoError', () => {
      const kp = c.ecdhGenerate('x25519', seededRandom('x25519-low-order', nobleCrypto.hash.bind(null, 'sha256')));
      const lowOrder = [
        '0000000000000000000000000000000000000000000000000000000000000000',
        '0100000000000000000000000000000000000000000000000000000000000000',
        'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      ];
      for (const p of lowOrder) expect(() => kp.deriveSecret(fromHex(p))).toThrow(CryptoError);
      expect(() => kp.deriveSecret(new Uint8Array(31).fill(9))).toThrow(CryptoError);
      expect(() => kp.deriveSecret(new Uint8Array(33).fill(9))).toThrow(CryptoError);
    });

    test('secp256r1 ECDH: RFC 5903 §8.1 exchange, uncompressed 65-byte key shares', () => {
      const i = c.ecdhGenerate('secp256r1', () => fromHex('c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433'));
      const r = c.ecdhGenerate('secp256r1', () => fromHex('c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53'));
      expect(hex(i.publicKey)).toBe(
        '04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c37725811805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3');
      expect(hex(r.publicKey)).toBe(
        '04d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf6356fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab');
      const girx = 'd6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de';
      expect(hex(i.deriveSecret(r.publicKey))).toBe(girx);
      expect(hex(r.deriveSecret(i.publicKey))).toBe(girx);
    });

    test('secp256r1 ECDH rejects off-curve, compressed, identity and wrong-length peer keys with CryptoError', () => {
      const kp = c.ecdhGenerate('secp256r1', seededRandom('p256-invalid', nobleCrypto.hash.bind(null, 'sha256')));
      const offCurve = Uint8Array.from(kp.publicKey);
      offCurve[64] ^= 1;
      expect(() => kp.deriveSecret(offCurve)).toThrow(CryptoError);
      const compressed = new Uint8Array([0x02 | (kp.publicKey[64] & 1), ...kp.publicKey.subarray(1, 33)]);
      expect(() => kp.deriveSecret(compressed)).toThrow(CryptoError);
      expect(() => kp.deriveSecret(new Uint8Array(65))).toThrow(CryptoError);
      const zeroPrefixed = new Uint8Array(65).fill(0xff);
      zeroPrefixed[0] = 4;
      expect(() => kp.deriveSecret(zeroPrefixed)).toThrow(CryptoError); // coordinates ≥ p
    });

    test('ECDH private keys are a pure function of the injected random: both backends derive identical key shares', () => {
      for (const group of ['x25519', 'secp256r1'] as const) {
        const here = c.ecdhGenerate(group, seededRandom(`share-${group}`, nobleCrypto.hash.bind(null, 'sha256')));
        const there = cryptoProvider(backend === 'noble' ? 'node' : 'noble').ecdhGenerate(group, seededRandom(`share-${group}`, nobleCrypto.hash.bind(null, 'sha256')));
        expect(hex(here.publicKey)).toBe(hex(there.publicKey));
        expect(here.publicKey.length).toBe(group === 'x25519' ? 32 : 65);
      }
      // A P-256 draw outside [1, n-1] is rejected and the next draw used.
      let calls = 0;
      const kp = c.ecdhGenerate('secp256r1', (n) => (calls++ === 0 ? new Uint8Array(n).fill(0xff) : fromHex('c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433')));
      expect(calls).toBe(2);
      expect(hex(kp.publicKey).slice(0, 10)).toBe('04dad0b653');
    });

    test('ECDSA P-256: RFC 6979 A.2.5 signature (high-S as published) verifies; our deterministic signature is its low-S twin', () => {
      const d = fromHex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
      const point = fromHex('0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299');
      const pub: PublicKey = { kind: 'ec', curve: 'secp256r1', point, spki: empty };
      const r = 0xefd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716n;
      const s = 0xf7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8n;
      expect(s > P256_N / 2n).toBe(true);
      const published = derSignature(r, s);
      expect(c.verify('ecdsa_secp256r1_sha256', pub, utf8('sample'), published)).toBe(true);
      expect(c.verify('ecdsa_secp256r1_sha256', pub, utf8('sample'), derSignature(r, P256_N - s))).toBe(true);
      expect(c.verify('ecdsa_secp256r1_sha256', pub, utf8('samplf'), published)).toBe(false);
      expect(c.verify('ecdsa_secp256r1_sha256', pub, utf8('sample'), derSignature(r, s - 1n))).toBe(false);
      expect(c.verify('ecdsa_secp384r1_sha384', pub, utf8('sample'), published)).toBe(false); // curve mismatch
      const ours = c.sign('ecdsa_secp256r1_sha256', { kind: 'ec', curve: 'secp256r1', d, publicPoint: point }, utf8('sample'), noRandom);
      expect(parseDerSignature(ours)).toEqual({ r, s: P256_N - s });
    });

    test('Ed25519: RFC 8032 §7.1 test 1 and test 2 sign and verify', () => {
      const v = [
        ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
          'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
        ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
          '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
      ];
      for (const [seed, pubHex, msg, sig] of v) {
        const priv: PrivateKey = { kind: 'ed25519', seed: fromHex(seed), publicKey: fromHex(pubHex) };
        const pub: PublicKey = { kind: 'ed25519', key: fromHex(pubHex), spki: empty };
        expect(hex(c.sign('ed25519', priv, fromHex(msg), noRandom))).toBe(sig);
        expect(c.verify('ed25519', pub, fromHex(msg), fromHex(sig))).toBe(true);
        expect(c.verify('ed25519', pub, utf8('other'), fromHex(sig))).toBe(false);
        expect(c.verify('ed25519', pub, fromHex(msg), flipBit(fromHex(sig), 40))).toBe(false);
      }
    });

    for (const [alg, keyKind] of SIGNING_CASES) {
      test(`${alg} (${keyKind}): signatures verify on both backends and under node:crypto; tampering is rejected`, () => {
        const key = testKey(keyKind);
        const message = utf8(`TLS 1.3, server CertificateVerify, ${alg}`);
        const sig = c.sign(alg, key.priv, message, seededRandom(`sig-${alg}`, nobleCrypto.hash.bind(null, 'sha256')));
        for (const verifier of BACKENDS) {
          const v = cryptoProvider(verifier);
          expect(v.verify(alg, key.pub, message, sig)).toBe(true);
          expect(v.verify(alg, key.pub, flipBit(message, 0), sig)).toBe(false);
          expect(v.verify(alg, key.pub, message, flipBit(sig, sig.length - 1))).toBe(false);
          expect(v.verify(alg, key.pub, message, flipBit(sig, 10))).toBe(false);
          expect(v.verify(alg, key.pub, message, sig.subarray(0, sig.length - 1))).toBe(false);
          expect(v.verify(alg, key.pub, message, empty)).toBe(false);
        }
        expect(oracleVerify(alg, key, message, sig)).toBe(true);

        // The other direction: a signature made by node:crypto (OpenSSL) verifies here.
        const hash = alg === 'ed25519' ? null : alg.slice(alg.lastIndexOf('_') + 1);
        const padding = alg.startsWith('rsa_pss') ? { padding: nodeCryptoLib.constants.RSA_PKCS1_PSS_PADDING, saltLength: nodeCryptoLib.constants.RSA_PSS_SALTLEN_DIGEST }
          : alg.startsWith('rsa_pkcs1') ? { padding: nodeCryptoLib.constants.RSA_PKCS1_PADDING } : alg.startsWith('ecdsa') ? { dsaEncoding: 'der' as const } : {};
        const foreign = new Uint8Array(nodeCryptoLib.sign(hash, message, { key: key.nodePriv, ...padding }));
        expect(c.verify(alg, key.pub, message, foreign)).toBe(true);
        expect(c.verify(alg, key.pub, flipBit(message, 3), foreign)).toBe(false);
      });
    }

    test('signing is deterministic given the injected random: both backends produce identical bytes for every algorithm', () => {
      const other = cryptoProvider(backend === 'noble' ? 'node' : 'noble');
      for (const [alg, keyKind] of SIGNING_CASES) {
        const key = testKey(keyKind);
        const message = utf8('same input, same signature');
        const a = c.sign(alg, key.priv, message, seededRandom('det', nobleCrypto.hash.bind(null, 'sha256')));
        const b = other.sign(alg, key.priv, message, seededRandom('det', nobleCrypto.hash.bind(null, 'sha256')));
        expect(hex(a), alg).toBe(hex(b));
      }
      // A different salt gives a different (still valid) RSA-PSS signature.
      const key = testKey('rsa2048');
      const s1 = c.sign('rsa_pss_rsae_sha256', key.priv, utf8('m'), seededRandom('salt-1', nobleCrypto.hash.bind(null, 'sha256')));
      const s2 = c.sign('rsa_pss_rsae_sha256', key.priv, utf8('m'), seededRandom('salt-2', nobleCrypto.hash.bind(null, 'sha256')));
      expect(hex(s1)).not.toBe(hex(s2));
      expect(c.verify('rsa_pss_rsae_sha256', key.pub, utf8('m'), s2)).toBe(true);
    });

    test('ECDSA signatures equal the other backend byte for byte over many keys and messages (RFC 6979 nonces, low-S)', () => {
      // The node backend computes RFC 6979 itself and only k·G in OpenSSL (engine/crypto/node-ecdsa.ts): any slip in
      // the DRBG, the modular arithmetic or the DER encoding (leading zeros, short r or s) shows up as a mismatch here.
      const other = cryptoProvider(backend === 'noble' ? 'node' : 'noble');
      const rnd = seededRandom('ecdsa-many', nobleCrypto.hash.bind(null, 'sha256'));
      for (const [alg, curve, len] of [['ecdsa_secp256r1_sha256', 'secp256r1', 32], ['ecdsa_secp384r1_sha384', 'secp384r1', 48]] as const) {
        for (let i = 0; i < 40; i++) {
          const d = rnd(len);
          d[0] = (d[0]! & 0x7f) | 0x01; // below the order, never zero
          const pair = nodeCryptoLib.createECDH(curve === 'secp256r1' ? 'prime256v1' : 'secp384r1');
          pair.setPrivateKey(d);
          const point = new Uint8Array(pair.getPublicKey());
          const priv: PrivateKey = { kind: 'ec', curve, d, publicPoint: point };
          const message = rnd(i * 7);
          const none = () => new Uint8Array(0);
          const a = c.sign(alg, priv, message, none);
          expect(hex(a), `${alg} #${i}`).toBe(hex(other.sign(alg, priv, message, none)));
          expect(c.verify(alg, { kind: 'ec', curve, point, spki: new Uint8Array(0) }, message, a)).toBe(true);
        }
      }
    });

    test('high-S ECDSA signatures from OpenSSL are accepted (P-256 and P-384)', () => {
      for (const [alg, kind, n] of [
        ['ecdsa_secp256r1_sha256', 'p256', P256_N],
        ['ecdsa_secp384r1_sha384', 'p384', 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n],
      ] as const) {
        const key = testKey(kind);
        const message = utf8('high-S please');
        const sig = new Uint8Array(nodeCryptoLib.sign(alg.endsWith('256') ? 'sha256' : 'sha384', message, { key: key.nodePriv, dsaEncoding: 'der' }));
        const { r, s } = parseDerSignature(sig);
        const highS = s > n / 2n ? s : n - s;
        const twin = derSignature(r, highS);
        expect(oracleVerify(alg, key, message, twin)).toBe(true); // OpenSSL itself accepts it
        expect(c.verify(alg, key.pub, message, twin)).toBe(true);
        expect(c.verify(alg, key.pub, message, derSignature(r, n - highS))).toBe(true);
        expect(c.verify(alg, key.pub, message, derSignature(r, highS + n))).toBe(false); // s ≥ n is out of range
      }
    });

    test('verify() returns false (never throws) for key/algorithm mismatches and garbage signatures', () => {
      const ec = testKey('p256');
      const ed = testKey('ed25519');
      const rsa = testKey('rsa2048');
      const m = utf8('x');
      expect(c.verify('ed25519', ec.pub, m, new Uint8Array(64))).toBe(false);
      expect(c.verify('rsa_pss_rsae_sha256', ed.pub, m, new Uint8Array(256))).toBe(false);
      expect(c.verify('ecdsa_secp256r1_sha256', rsa.pub, m, new Uint8Array(72))).toBe(false);
      expect(c.verify('ecdsa_secp256r1_sha256', ec.pub, m, fromHex('3006020101020101ff'))).toBe(false);
      expect(c.verify('ecdsa_secp256r1_sha256', ec.pub, m, new Uint8Array(300).fill(0x30))).toBe(false);
      expect(c.verify('rsa_pss_rsae_sha256', rsa.pub, m, new Uint8Array(256).fill(0xff))).toBe(false); // ≥ n
      expect(c.verify('rsa_pkcs1_sha256', rsa.pub, m, new Uint8Array(256))).toBe(false);
      expect(c.verify('ed25519', ed.pub, m, new Uint8Array(64).fill(0xff))).toBe(false);
      expect(c.verify('bogus' as SignatureAlgorithm, ec.pub, m, new Uint8Array(64))).toBe(false);
      expect(() => c.sign('ecdsa_secp384r1_sha384', ec.priv, m, noRandom)).toThrow(CryptoError);
      expect(() => c.sign('rsa_pss_rsae_sha256', ec.priv, m, noRandom)).toThrow(CryptoError);
    });

    test('signatures made by the openssl CLI with the test PKI keys verify (ECDSA P-256/P-384, RSA-PSS, RSA PKCS#1, Ed25519)', () => {
      const pki = makePki();
      const dir = mkdtempSync(join(tmpdir(), 'crosswire-sig-'));
      const msgFile = join(dir, 'msg');
      const message = utf8('signed by openssl dgst/pkeyutl');
      writeFileSync(msgFile, message);
      const opensslSign = (keyFile: string, args: string[]) => {
        const out = join(dir, 'sig');
        execFileSync('openssl', [...args, '-inkey', keyFile, '-in', msgFile, '-out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
        return new Uint8Array(readFileSync(out));
      };
      const load = (file: string) => fromKeyObject(nodeCryptoLib.createPrivateKey(readFileSync(file)));
      const cases: [SignatureAlgorithm, string, string[]][] = [
        ['ecdsa_secp256r1_sha256', pki.leaf.ec.key, ['pkeyutl', '-sign', '-rawin', '-digest', 'sha256']],
        ['ecdsa_secp384r1_sha384', pki.leaf.p384.key, ['pkeyutl', '-sign', '-rawin', '-digest', 'sha384']],
        ['rsa_pss_rsae_sha256', pki.leaf.rsa.key, ['pkeyutl', '-sign', '-rawin', '-digest', 'sha256', '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest']],
        ['rsa_pkcs1_sha256', pki.leaf.rsa.key, ['pkeyutl', '-sign', '-rawin', '-digest', 'sha256']],
        ['ed25519', pki.leaf.ed25519.key, ['pkeyutl', '-sign', '-rawin']],
      ];
      for (const [alg, keyFile, args] of cases) {
        const key = load(keyFile);
        const sig = opensslSign(keyFile, args);
        expect(c.verify(alg, key.pub, message, sig), alg).toBe(true);
        expect(c.verify(alg, key.pub, flipBit(message, 5), sig), alg).toBe(false);
        // And our signature with the same key passes OpenSSL's own check.
        const ours = c.sign(alg, key.priv, message, seededRandom(alg, nobleCrypto.hash.bind(null, 'sha256')));
        expect(oracleVerify(alg, key, message, ours), alg).toBe(true);
      }
    });
  });
}
