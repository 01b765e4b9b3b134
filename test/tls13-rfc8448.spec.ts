// RFC 8448 §3 (simple 1-RTT) and §4 (resumption and 0-RTT) traces against our key schedule, codecs and server.
import { test, expect } from '@playwright/test';
import type { CryptoProvider, PrivateKey } from '../engine/crypto/provider.js';
import { concat, fromHex, hex } from '../engine/wire/bytes.js';
import { CIPHER_SUITES, type Epoch, type TlsConfig, type TlsEvent } from '../engine/tls/api.js';
import { ExtensionType, decodeOfferedPsks } from '../engine/tls/extensions.js';
import {
  HandshakeReassembler,
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  decodeNewSessionTicket,
  type HandshakeMessage,
} from '../engine/tls/handshake-codec.js';
import { KeySchedule, exportKeyingMaterial, resumptionPsk, trafficKeys } from '../engine/tls/key-schedule.js';
import { TlsClient, TlsServer, createTlsSession } from '../engine/tls/session.js';
import type { Extension } from '../engine/tls/extensions.js';
import type { TicketState } from '../engine/tls/ticket.js';
import { verifyCertificateVerify } from '../engine/tls/signature.js';
import { parseCertificate } from '../engine/tls/x509/certificate.js';
import { cryptoProvider } from '../engine/crypto/index.js';
import { seededRandom } from '../engine/crypto/random.js';
import { BACKENDS } from './tls13-fixtures.js';

const h = (s: string) => fromHex(s);
const AES128 = CIPHER_SUITES.TLS_AES_128_GCM_SHA256;

// ---- RFC 8448 §3 ----
const CLIENT_HELLO = h(`010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef
6283024dece7000006130113031302010000910000000b000900000673657276
6572ff01000100000a00140012001d0017001800190100010101020103010400
230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e
51c13cae4d5413691e529aaf2c002b0003020304000d0020001e040305030603
020308040805080604010501060102010402050206020202002d00020101001c
00024001`);
const SERVER_HELLO = h(`020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155
772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdb
f7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304`);
const SERVER_RANDOM = SERVER_HELLO.subarray(6, 38);
const SERVER_X25519_PRIVATE = h('b1580eeadf6dd589b8ef4f2d5652578cc810e9980191ec8d058308cea216a21e');
const CLIENT_X25519_PRIVATE = h('49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005');
const SHARED = h('8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d');
const SERVER_FLIGHT = h(`080000240022000a00140012001d00170018001901000101010201030104001c
00024001000000000b0001b9000001b50001b0308201ac30820115a003020102
020102300d06092a864886f70d01010b0500300e310c300a0603550403130372
7361301e170d3136303733303031323335395a170d3236303733303031323335
395a300e310c300a0603550403130372736130819f300d06092a864886f70d01
0101050003818d0030818902818100b4bb498f8279303d980836399b36c6988c
0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19e
aa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e2
2a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a
8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603551d1304
023000300b0603551d0f0404030205a0300d06092a864886f70d01010b050003
81810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594
365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd
335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb
2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b4
2b4de100000f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f82
4cd484145ab3ff52f1fda8477b0b7abc90db78e2d33a5c141a078653fa6bef78
0c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671
459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda
65cdf5aea20d53dfacd42f74f3140000209b9b141d906337fbd2cbdce71df4de
da4ab42c309572cb7fffee5454b78f0718`);
const SERVER_FLIGHT_RECORD = h(`17030302a2d1ff334a56f5bff6594a07cc87b580233f500f45e489e7f33af35e
df7869fcf40aa40aa2b8ea73f848a7ca07612ef9f945cb960b4068905123ea78
b111b429ba9191cd05d2a389280f526134aadc7fc78c4b729df828b5ecf7b13b
d9aefb0e57f271585b8ea9bb355c7c79020716cfb9b1183ef3ab20e37d57a6b9
d7477609aee6e122a4cf51427325250c7d0e509289444c9b3a648f1d71035d2e
d65b0e3cdd0cbae8bf2d0b227812cbb360987255cc744110c453baa4fcd61092
8d809810e4b7ed1a8fd991f06aa6248204797e36a6a73b70a2559c09ead68694
5ba246ab66e5edd8044b4c6de3fcf2a89441ac66272fd8fb330ef8190579b368
4596c960bd596eea520a56a8d650f563aad27409960dca63d3e688611ea5e22f
4415cf9538d51a200c27034272968a264ed6540c84838d89f72c24461aad6d26
f59ecaba9acbbb317b66d902f4f292a36ac1b639c637ce343117b65962224531
7b49eeda0c6258f100d7d961ffb138647e92ea330faeea6dfa31c7a84dc3bd7e
1b7a6c7178af36879018e3f252107f243d243dc7339d5684c8b0378bf30244da
8c87c843f5e56eb4c5e8280a2b48052cf93b16499a66db7cca71e4599426f7d4
61e66f99882bd89fc50800becca62d6c74116dbd2972fda1fa80f85df881edbe
5a37668936b335583b599186dc5c6918a396fa48a181d6b6fa4f9d62d513afbb
992f2b992f67f8afe67f76913fa388cb5630c8ca01e0c65d11c66a1e2ac4c859
77b7c7a6999bbf10dc35ae69f5515614636c0b9b68c19ed2e31c0b3b66763038
ebba42f3b38edc0399f3a9f23faa63978c317fc9fa66a73f60f0504de93b5b84
5e275592c12335ee340bbc4fddd502784016e4b3be7ef04dda49f4b440a30cb5
d2af939828fd4ae3794e44f94df5a631ede42c1719bfdabf0253fe5175be898e
750edc53370d2b`);
const CLIENT_FINISHED = h('14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61');
const CLIENT_FINISHED_RECORD = h('170303003575ec4dc238cce60b298044a71e219c56cc77b0517fe9b93c7a4bfc44d87f38f80338ac98fc46deb384bd1caeacab6867d726c40546');
const NEW_SESSION_TICKET = h(`040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec9000000
00262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785a
bc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827
db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529
513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea61764
6fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934a
e4d3570008002a000400000400`);

const V3 = {
  early: '33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a',
  handshake: '1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac',
  helloHash: '860c06edc07858ee8e78f0e7428c58edd6b43f2ca3e6e95f02ed063cf0e1cad8',
  cHs: 'b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21',
  sHs: 'b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38',
  master: '18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919',
  sHsKey: '3fce516009c21727d0f2e4e86ee403bc',
  sHsIv: '5d313eb2671276ee13000b30',
  cHsKey: 'dbfaa693d1762c5b666af5d950258d01',
  cHsIv: '5bd3c71b836e0b76bb73265f',
  sFinished: '9b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718',
  serverFinishedHash: '9608102a0f1ccc6db6250b7b7e417b1a000eaada3daae4777a7686c9ff83df13',
  cAp: '9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5',
  sAp: 'a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643',
  exporter: 'fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50',
  sApKey: '9f02283b6c9c07efc26bb9f2ac92e356',
  sApIv: 'cf782b88dd83549aadf1e984',
  cApKey: '17422dda596ed5d9acd890e3c63f5051',
  cApIv: '5b78923dee08579033e523d9',
  clientFinishedHash: '209145a96ee8e2a122ff810047cc952684658d6049e86429426db87c54ad143d',
  resumptionMaster: '7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c',
  psk: '4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3',
};

// The server's RSA key (RFC 8448 §3, 1024-bit): modulus, public and private exponent; the primes are recovered below.
const RSA_N = BigInt('0xb4bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f');
const RSA_E = 65537n;
const RSA_D = BigInt('0x04dea705d43a6ea7209dd8072111a83c81e322a59278b33480641eaf7c0a6985b8e31c44f6de62e1b4c2309f6126e77b7c41e923314bbfa3881305dc1217f16c819ce538e922f369828d0e57195d8c8488460207b2faa726bcf708bbd7db7f679f893492fc2a622e08970aac441ce4e0c3088df25ae679233df8a3bda2ff9941');

// ---- RFC 8448 §4 ----
const RESUME_CLIENT_HELLO = h(`010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95000006130113031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d00170018001901000101010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4f18d668f0b002a0000002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d00020101001c0002400100150057000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002900dd00b800b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb0021203add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d`);
const RESUME_SERVER_HELLO = h('0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d00130100003400290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942cea31002b00020304');
const RESUME_SERVER_FLIGHT = h('080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000' + '1400002048d3e0e1b3d907c6acff145e16090388c77b05c050b634ab1a88bbd0dd1a34b2');
const RESUME_CLIENT_FINISHED = h('140000207230a9c952c25cd6138fc5e6628308c41c5335dd81b9f96bcea50fd32bda416d');
const RESUME_SERVER_X25519_PRIVATE = h('de5b4476e7b490b2652d338acbf2948066f255f9440e23b98fc69835298dc107');
const RESUME_CLIENT_X25519_PRIVATE = h('bff91188283846dd6a2134ef7180ca2b0b14fb10dce707b5098c0dddc813b2df');
const V4 = {
  cHs: '2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f',
  sHs: 'fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803',
  cAp: '2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1',
  sAp: 'cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691',
  exporter: '3fd93d4ffddc98e64b14dd107aedf8ee4add23f4510f58a4592d0b201bee56b4',
  early: '9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c',
  binderKey: '69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256',
  binderHash: '63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14',
  binder: '3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d',
  cEarly: '3fbbe6a60deb66c30a32795aba0eff7eaa10105586e7be5c09678d63b6caab62',
  earlyExporter: 'b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df',
  earlyKey: '920205a5b7bf2115e6fc5c2942834f54',
  earlyIv: '6d475f0993c8e564610db2b9',
  earlyRecord: '1703030017ab1df420e75c457a7cc5d2844f76d5aee4b4edbf049be0',
  earlyData: '414243444546',
};

/** Our client, except that the ClientHello it "sends" is the trace's (its random and key share are injected to match). */
class TraceReplayClient extends TlsClient {
  constructor(
    config: TlsConfig,
    private readonly traceHello: Uint8Array,
  ) {
    super(config);
  }
  protected override encodeHello(_random: Uint8Array, _sessionId: Uint8Array, _suites: readonly number[], _ext: readonly Extension[]): Uint8Array {
    this.sessionId = new Uint8Array(0); // the trace client sent an empty legacy_session_id
    return this.traceHello.slice();
  }
}

/** Our server, except that its EncryptedExtensions are the trace's (that server also sent supported_groups and record_size_limit). */
class TraceReplayServer extends TlsServer {
  constructor(
    config: TlsConfig,
    private readonly traceEncryptedExtensions: Uint8Array,
    private readonly traceTicket?: TicketState,
  ) {
    super(config);
  }
  protected override encodeEncryptedExtensions(_extensions: readonly Extension[]): Uint8Array {
    return this.traceEncryptedExtensions.slice();
  }
  protected override openTicket(identity: Uint8Array): TicketState | undefined {
    return this.traceTicket && hex(identity) === hex(decodeNewSessionTicket(messages(NEW_SESSION_TICKET)[0]!.body).ticket) ? this.traceTicket : undefined;
  }
}

/** The RSA-PSS salt inside a signature (RFC 8017 §9.1.2 steps, run backwards with the public key), SHA-256, 32-byte salt. */
function pssSalt(crypto: CryptoProvider, n: bigint, e: bigint, signature: Uint8Array): Uint8Array {
  let m = 1n;
  let b = BigInt('0x' + hex(signature));
  for (let x = e; x > 0n; x >>= 1n, b = (b * b) % n) if (x & 1n) m = (m * b) % n;
  const em = fromHex(m.toString(16).padStart(256, '0'));
  const dbLength = em.length - 32 - 1;
  const hashed = em.subarray(dbLength, dbLength + 32);
  const mask: Uint8Array[] = [];
  for (let counter = 0; mask.length * 32 < dbLength; counter++) mask.push(crypto.hash('sha256', concat(hashed, Uint8Array.of(0, 0, 0, counter))));
  const db = em.slice(0, dbLength).map((v, i) => v ^ concat(...mask)[i]!);
  return db.slice(dbLength - 32);
}

/** Recovers p and q from (n, e, d) (the classic randomised-square-root method, with fixed small bases). */
function rsaKey(n: bigint, e: bigint, d: bigint): PrivateKey {
  const pow = (b: bigint, x: bigint, m: bigint) => {
    let r = 1n;
    for (b %= m; x > 0n; x >>= 1n, b = (b * b) % m) if (x & 1n) r = (r * b) % m;
    return r;
  };
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  let r = d * e - 1n;
  let t = 0;
  while ((r & 1n) === 0n) (r >>= 1n), t++;
  for (let g = 2n; g < 100n; g++) {
    let y = pow(g, r, n);
    for (let i = 0; i < t; i++) {
      const y2 = (y * y) % n;
      if (y2 === 1n && y !== 1n && y !== n - 1n) {
        const p = gcd(y - 1n, n);
        const q = n / p;
        const inv = (a: bigint, m: bigint) => pow(a, m - 2n, m); // m is prime
        return { kind: 'rsa', n, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qinv: inv(q, p) };
      }
      y = y2;
    }
  }
  throw new Error('could not factor the RSA modulus');
}

function messages(bytes: Uint8Array): HandshakeMessage[] {
  const r = new HandshakeReassembler();
  r.push(bytes);
  const out: HandshakeMessage[] = [];
  for (let m = r.next(); m; m = r.next()) out.push(m);
  return out;
}

/** Opens one TLS 1.3 record (RFC 8446 §5.2) at sequence number 0; returns the inner plaintext without padding. */
function openRecord(crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, record: Uint8Array): { type: number; content: Uint8Array } {
  const plain = crypto.aead('aes-128-gcm', key).open(iv, record.subarray(5), record.subarray(0, 5));
  if (!plain) throw new Error('record does not authenticate');
  let end = plain.length - 1;
  while (plain[end] === 0) end--;
  return { type: plain[end]!, content: plain.subarray(0, end) };
}

function transcriptHash(crypto: CryptoProvider, ...parts: Uint8Array[]): Uint8Array {
  return crypto.hash('sha256', concat(...parts));
}

for (const backend of BACKENDS) {
  test.describe(`RFC 8448 (${backend})`, () => {
    const crypto = cryptoProvider(backend);

    test('§3 x25519 shared secret from the trace keys', () => {
      const client = crypto.ecdhGenerate('x25519', () => CLIENT_X25519_PRIVATE.slice());
      const server = crypto.ecdhGenerate('x25519', () => SERVER_X25519_PRIVATE.slice());
      expect(hex(client.deriveSecret(server.publicKey))).toBe(hex(SHARED));
      expect(hex(server.publicKey)).toBe(hex(SERVER_HELLO.subarray(SERVER_HELLO.length - 38, SERVER_HELLO.length - 6)));
    });

    test('§3 every secret, key and IV of the key schedule, both Finished values, resumption PSK', () => {
      const ks = new KeySchedule(crypto, 'sha256');
      expect(hex(ks.earlySecret)).toBe(V3.early);
      expect(hex(ks.enterHandshake(SHARED))).toBe(V3.handshake);
      const helloHash = transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO);
      expect(hex(helloHash)).toBe(V3.helloHash);
      const cHs = ks.clientHandshakeTrafficSecret(helloHash);
      const sHs = ks.serverHandshakeTrafficSecret(helloHash);
      expect(hex(cHs)).toBe(V3.cHs);
      expect(hex(sHs)).toBe(V3.sHs);
      expect(hex(ks.enterMaster())).toBe(V3.master);
      const sk = trafficKeys(crypto, AES128, sHs);
      const ck = trafficKeys(crypto, AES128, cHs);
      expect([hex(sk.key), hex(sk.iv), hex(ck.key), hex(ck.iv)]).toEqual([V3.sHsKey, V3.sHsIv, V3.cHsKey, V3.cHsIv]);

      // The server Finished covers the flight up to (not including) itself.
      const flight = messages(SERVER_FLIGHT);
      expect(flight.map((m) => m.type)).toEqual([8, 11, 15, 20]);
      const beforeFinished = concat(...flight.slice(0, 3).map((m) => m.raw));
      expect(hex(ks.finishedVerifyData(sHs, transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO, beforeFinished)))).toBe(V3.sFinished);

      const sfHash = transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO, SERVER_FLIGHT);
      expect(hex(sfHash)).toBe(V3.serverFinishedHash);
      const cAp = ks.clientApplicationTrafficSecret(sfHash);
      const sAp = ks.serverApplicationTrafficSecret(sfHash);
      expect([hex(cAp), hex(sAp), hex(ks.exporterMasterSecret(sfHash))]).toEqual([V3.cAp, V3.sAp, V3.exporter]);
      const sak = trafficKeys(crypto, AES128, sAp);
      const cak = trafficKeys(crypto, AES128, cAp);
      expect([hex(sak.key), hex(sak.iv), hex(cak.key), hex(cak.iv)]).toEqual([V3.sApKey, V3.sApIv, V3.cApKey, V3.cApIv]);

      // The client Finished, byte for byte.
      const clientFinished = concat(Uint8Array.of(20, 0, 0, 32), ks.finishedVerifyData(cHs, sfHash));
      expect(hex(clientFinished)).toBe(hex(CLIENT_FINISHED));
      const cfHash = transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO, SERVER_FLIGHT, CLIENT_FINISHED);
      expect(hex(cfHash)).toBe(V3.clientFinishedHash);
      const rms = ks.resumptionMasterSecret(cfHash);
      expect(hex(rms)).toBe(V3.resumptionMaster);

      // NewSessionTicket: our codec reads it and the PSK for its nonce is the one §4 resumes with.
      const [nst] = messages(NEW_SESSION_TICKET);
      const ticket = decodeNewSessionTicket(nst!.body);
      expect(ticket.lifetimeSec).toBe(30);
      expect(hex(ticket.nonce)).toBe('0000');
      expect(ticket.extensions.get(ExtensionType.early_data)).toEqual(h('00000400'));
      expect(hex(resumptionPsk(crypto, 'sha256', rms, ticket.nonce))).toBe(V3.psk);

      // Exporter works off the exporter master secret (value cross-checked by determinism only: the RFC has no vector).
      expect(exportKeyingMaterial(crypto, 'sha256', h(V3.exporter), 'EXPERIMENTAL', new Uint8Array(0), 16)).toHaveLength(16);
    });

    test('§3 the server flight and client Finished records open with our keys; codecs and CertificateVerify check', () => {
      const sk = trafficKeys(crypto, AES128, h(V3.sHs));
      const server = openRecord(crypto, sk.key, sk.iv, SERVER_FLIGHT_RECORD);
      expect(server.type).toBe(22);
      expect(hex(server.content)).toBe(hex(SERVER_FLIGHT));
      const ck = trafficKeys(crypto, AES128, h(V3.cHs));
      const client = openRecord(crypto, ck.key, ck.iv, CLIENT_FINISHED_RECORD);
      expect(hex(client.content)).toBe(hex(CLIENT_FINISHED));

      const [, certMsg, cvMsg] = messages(SERVER_FLIGHT);
      const cert = decodeCertificate(certMsg!.body);
      expect(cert.certificates).toHaveLength(1);
      const leafKey = parseCertificate(cert.certificates[0]!).publicKey;
      const cv = decodeCertificateVerify(cvMsg!.body);
      expect(cv.scheme).toBe(0x0804);
      const th = transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO, messages(SERVER_FLIGHT)[0]!.raw, certMsg!.raw);
      verifyCertificateVerify(crypto, 'rsa_pss_rsae_sha256', ['rsa_pss_rsae_sha256'], leafKey, 'server', th, cv.signature);
    });

    test('§3 our server answers the trace ClientHello with the trace ServerHello and handshake secrets', () => {
      const certDer = decodeCertificate(messages(SERVER_FLIGHT)[1]!.body).certificates[0]!;
      const injected = [SERVER_RANDOM, SERVER_X25519_PRIVATE];
      const fallback = seededRandom('rfc8448', (d) => crypto.hash('sha256', d));
      const random = (n: number) => (injected.length ? injected.shift()!.slice() : fallback(n));
      const lines: string[] = [];
      const server = createTlsSession({
        role: 'server',
        crypto,
        random,
        clock: () => Date.UTC(2016, 7, 1),
        certificateChain: [certDer],
        privateKey: rsaKey(RSA_N, RSA_E, RSA_D),
        keyLog: (l) => lines.push(l),
      });
      server.receive('initial', CLIENT_HELLO);
      const out: { epoch: Epoch; data: Uint8Array }[] = [];
      for (let o = server.pollOutput(); o; o = server.pollOutput()) out.push(o);
      expect(out.map((o) => o.epoch)).toEqual(['initial', 'handshake']);
      expect(hex(out[0]!.data)).toBe(hex(SERVER_HELLO));

      const events: TlsEvent[] = [];
      for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(e);
      const secret = (epoch: Epoch, dir: 'read' | 'write') =>
        events.flatMap((e) => (e.type === 'secret' && e.secret.epoch === epoch && e.secret.direction === dir ? [hex(e.secret.secret)] : []));
      expect(secret('handshake', 'write')).toEqual([V3.sHs]);
      expect(secret('handshake', 'read')).toEqual([V3.cHs]);
      expect(lines[0]).toBe(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${hex(CLIENT_HELLO.subarray(6, 38))} ${V3.cHs}`);
      expect(lines[1]).toBe(`SERVER_HANDSHAKE_TRAFFIC_SECRET ${hex(CLIENT_HELLO.subarray(6, 38))} ${V3.sHs}`);

      // Our EncryptedExtensions differ (the trace's server also sent supported_groups and record_size_limit), so the
      // flight matches from the Certificate on; CertificateVerify uses a random PSS salt and is checked by verifying it.
      const ours = messages(out[1]!.data);
      expect(ours.map((m) => m.type)).toEqual([8, 11, 15, 20]);
      expect(hex(ours[1]!.raw)).toBe(hex(messages(SERVER_FLIGHT)[1]!.raw));
      const cv = decodeCertificateVerify(ours[2]!.body);
      expect(cv.scheme).toBe(0x0804);
      const th = transcriptHash(crypto, CLIENT_HELLO, SERVER_HELLO, ours[0]!.raw, ours[1]!.raw);
      verifyCertificateVerify(crypto, 'rsa_pss_rsae_sha256', ['rsa_pss_rsae_sha256'], parseCertificate(certDer).publicKey, 'server', th, cv.signature);
    });

    test('§3 our client state machine consumes the trace ServerHello and server flight and sends the trace client Finished', () => {
      const injected = [CLIENT_HELLO.slice(6, 38), new Uint8Array(32), CLIENT_X25519_PRIVATE];
      const lines: string[] = [];
      const client = new TraceReplayClient({
        role: 'client',
        crypto,
        random: (n) => (injected.length ? injected.shift()!.slice() : new Uint8Array(n)),
        clock: () => Date.UTC(2016, 7, 1),
        serverName: 'server',
        // The trace's self-signed 1024-bit RSA certificate is no trust anchor material; CertificateVerify is still checked.
        verify: { ca: [], insecure: true },
        keyLog: (l) => lines.push(l),
      }, CLIENT_HELLO);
      client.start();
      expect(hex(client.pollOutput()!.data)).toBe(hex(CLIENT_HELLO));
      client.receive('initial', SERVER_HELLO);
      client.receive('handshake', SERVER_FLIGHT);
      const out = client.pollOutput()!;
      expect(out.epoch).toBe('handshake');
      expect(hex(out.data)).toBe(hex(CLIENT_FINISHED));
      expect(client.handshakeComplete).toBe(true);
      const events: TlsEvent[] = [];
      for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
      const secrets = events.flatMap((e) => (e.type === 'secret' ? [`${e.secret.epoch}/${e.secret.direction}=${hex(e.secret.secret)}`] : []));
      expect(secrets).toEqual([`handshake/read=${V3.sHs}`, `handshake/write=${V3.cHs}`, `application/read=${V3.sAp}`, `application/write=${V3.cAp}`]);
      const random = hex(CLIENT_HELLO.subarray(6, 38));
      expect(lines).toEqual([
        `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${random} ${V3.cHs}`,
        `SERVER_HANDSHAKE_TRAFFIC_SECRET ${random} ${V3.sHs}`,
        `CLIENT_TRAFFIC_SECRET_0 ${random} ${V3.cAp}`,
        `SERVER_TRAFFIC_SECRET_0 ${random} ${V3.sAp}`,
        `EXPORTER_SECRET ${random} ${V3.exporter}`,
      ]);
      // The trace's NewSessionTicket becomes a ticket whose PSK is the one §4 resumes with.
      client.receive('application', NEW_SESSION_TICKET);
      const ticket = client.pollEvent();
      expect(ticket?.type).toBe('ticket');
      if (ticket?.type !== 'ticket') return;
      expect(hex(ticket.ticket.resumptionSecret)).toBe(V3.psk);
      expect(ticket.ticket.lifetimeSec).toBe(30);
      expect(ticket.ticket.maxEarlyData).toBe(1024);
      expect(ticket.ticket.ageAdd).toBe(0xfad6aac5);
    });

    test('§3 our server replays the trace byte for byte: ServerHello and the whole encrypted flight; the trace client Finished completes it', () => {
      const [, certMsg, cvMsg] = messages(SERVER_FLIGHT);
      const salt = pssSalt(crypto, RSA_N, RSA_E, decodeCertificateVerify(cvMsg!.body).signature);
      const injected = [SERVER_RANDOM, SERVER_X25519_PRIVATE, salt];
      const lines: string[] = [];
      const server = new TraceReplayServer({
        role: 'server',
        crypto,
        random: (n) => {
          const next = injected.shift();
          if (!next || next.length !== n) throw new Error(`unexpected random draw of ${n} bytes`);
          return next.slice();
        },
        clock: () => Date.UTC(2016, 7, 1),
        certificateChain: decodeCertificate(certMsg!.body).certificates,
        privateKey: rsaKey(RSA_N, RSA_E, RSA_D),
        keyLog: (l) => lines.push(l),
      }, messages(SERVER_FLIGHT)[0]!.raw);
      server.receive('initial', CLIENT_HELLO);
      const sh = server.pollOutput()!;
      const flight = server.pollOutput()!;
      expect([sh.epoch, flight.epoch]).toEqual(['initial', 'handshake']);
      expect(hex(sh.data)).toBe(hex(SERVER_HELLO));
      expect(hex(flight.data)).toBe(hex(SERVER_FLIGHT));
      server.receive('handshake', CLIENT_FINISHED);
      expect(server.handshakeComplete).toBe(true);
      const events: TlsEvent[] = [];
      for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(e);
      const secrets = events.flatMap((e) => (e.type === 'secret' ? [`${e.secret.epoch}/${e.secret.direction}=${hex(e.secret.secret)}`] : []));
      expect(secrets).toEqual([`handshake/write=${V3.sHs}`, `handshake/read=${V3.cHs}`, `application/write=${V3.sAp}`, `application/read=${V3.cAp}`]);
      expect(lines.map((l) => l.split(' ')[2])).toEqual([V3.cHs, V3.sHs, V3.cAp, V3.sAp, V3.exporter]);
    });

    test('§4 our client resumes with the §3 ticket: trace ClientHello and binder, 0-RTT accepted, EndOfEarlyData and Finished byte for byte', () => {
      const now = Date.UTC(2016, 7, 1);
      const nst = decodeNewSessionTicket(messages(NEW_SESSION_TICKET)[0]!.body);
      const injected = [RESUME_CLIENT_HELLO.slice(6, 38), new Uint8Array(32), RESUME_CLIENT_X25519_PRIVATE];
      const lines: string[] = [];
      const client = new TraceReplayClient({
        role: 'client',
        crypto,
        random: (n) => (injected.length ? injected.shift()!.slice() : new Uint8Array(n)),
        clock: () => now,
        serverName: 'server',
        verify: { ca: [], insecure: true },
        keyLog: (l) => lines.push(l),
        earlyData: true,
        // The §3 ticket, received 6 ms before: obfuscated age = 6 + age_add (0xfad6aac5) = 0xfad6aacb as in the trace.
        session: { serverName: 'server', suite: 'TLS_AES_128_GCM_SHA256', ticket: nst.ticket, resumptionSecret: h(V3.psk), ageAdd: nst.ageAdd, lifetimeSec: nst.lifetimeSec, receivedAtMs: now - 6, maxEarlyData: 1024 },
      }, RESUME_CLIENT_HELLO.map((b, i) => (i >= RESUME_CLIENT_HELLO.length - 32 ? 0 : b)));
      client.start();
      // The binder was blanked in the bytes handed to the client: the client computed the trace's binder itself.
      expect(hex(client.pollOutput()!.data)).toBe(hex(RESUME_CLIENT_HELLO));
      client.receive('initial', RESUME_SERVER_HELLO);
      client.receive('handshake', RESUME_SERVER_FLIGHT);
      expect(client.resumed).toBe(true);
      expect(client.earlyDataAccepted).toBe(true);
      const outs: string[] = [];
      for (let o = client.pollOutput(); o; o = client.pollOutput()) outs.push(`${o.epoch}:${hex(o.data)}`);
      expect(outs).toEqual([`early:05000000`, `handshake:${hex(RESUME_CLIENT_FINISHED)}`]);
      const events: TlsEvent[] = [];
      for (let e = client.pollEvent(); e; e = client.pollEvent()) events.push(e);
      const secrets = events.flatMap((e) => (e.type === 'secret' ? [`${e.secret.epoch}/${e.secret.direction}=${hex(e.secret.secret)}`] : []));
      expect(secrets).toEqual([
        `early/write=${V4.cEarly}`,
        `handshake/read=${V4.sHs}`,
        `handshake/write=${V4.cHs}`,
        `application/read=${V4.sAp}`,
        `application/write=${V4.cAp}`,
      ]);
      expect(events.filter((e) => e.type === 'early-data')).toEqual([{ type: 'early-data', accepted: true }]);
      expect(lines.map((l) => l.split(' ')[0] + '=' + l.split(' ')[2])).toEqual([
        `CLIENT_EARLY_TRAFFIC_SECRET=${V4.cEarly}`,
        `CLIENT_HANDSHAKE_TRAFFIC_SECRET=${V4.cHs}`,
        `SERVER_HANDSHAKE_TRAFFIC_SECRET=${V4.sHs}`,
        `CLIENT_TRAFFIC_SECRET_0=${V4.cAp}`,
        `SERVER_TRAFFIC_SECRET_0=${V4.sAp}`,
        `EXPORTER_SECRET=${V4.exporter}`,
      ]);
    });

    test('§4 our server accepts the trace resumption: binder, 0-RTT, ServerHello and flight byte for byte, EndOfEarlyData, client Finished', () => {
      const now = Date.UTC(2016, 7, 1);
      const injected = [RESUME_SERVER_HELLO.slice(6, 38), RESUME_SERVER_X25519_PRIVATE];
      const nst = decodeNewSessionTicket(messages(NEW_SESSION_TICKET)[0]!.body);
      const server = new TraceReplayServer(
        {
          role: 'server',
          crypto,
          random: (n) => {
            const next = injected.shift();
            if (!next || next.length !== n) throw new Error(`unexpected random draw of ${n} bytes`);
            return next.slice();
          },
          clock: () => now,
          ticketKey: new Uint8Array(32),
          ticketCount: 0,
          earlyData: true,
        },
        messages(RESUME_SERVER_FLIGHT)[0]!.raw,
        { suite: 'TLS_AES_128_GCM_SHA256', psk: h(V3.psk), issuedAtMs: now - 6, lifetimeSec: nst.lifetimeSec, ageAdd: nst.ageAdd, maxEarlyData: 1024, serverName: 'server' },
      );
      server.receive('initial', RESUME_CLIENT_HELLO);
      expect(server.resumed).toBe(true);
      expect(server.earlyDataAccepted).toBe(true);
      const outs: string[] = [];
      for (let o = server.pollOutput(); o; o = server.pollOutput()) outs.push(`${o.epoch}:${hex(o.data)}`);
      expect(outs).toEqual([`initial:${hex(RESUME_SERVER_HELLO)}`, `handshake:${hex(RESUME_SERVER_FLIGHT)}`]);
      // Over TCP the client's handshake key applies only after EndOfEarlyData, at the early epoch.
      expect(() => server.receive('handshake', RESUME_CLIENT_FINISHED)).toThrow();
    });

    test('§4 our server reads EndOfEarlyData at the early epoch, then the trace client Finished', () => {
      const now = Date.UTC(2016, 7, 1);
      const injected = [RESUME_SERVER_HELLO.slice(6, 38), RESUME_SERVER_X25519_PRIVATE];
      const nst = decodeNewSessionTicket(messages(NEW_SESSION_TICKET)[0]!.body);
      const server = new TraceReplayServer(
        { role: 'server', crypto, random: () => injected.shift()!.slice(), clock: () => now, ticketKey: new Uint8Array(32), ticketCount: 0, earlyData: true },
        messages(RESUME_SERVER_FLIGHT)[0]!.raw,
        { suite: 'TLS_AES_128_GCM_SHA256', psk: h(V3.psk), issuedAtMs: now - 6, lifetimeSec: nst.lifetimeSec, ageAdd: nst.ageAdd, maxEarlyData: 1024, serverName: 'server' },
      );
      server.receive('initial', RESUME_CLIENT_HELLO);
      server.receive('early', h('05000000'));
      server.receive('handshake', RESUME_CLIENT_FINISHED);
      expect(server.handshakeComplete).toBe(true);
      const events: TlsEvent[] = [];
      for (let e = server.pollEvent(); e; e = server.pollEvent()) events.push(e);
      const secrets = events.flatMap((e) => (e.type === 'secret' ? [`${e.secret.epoch}/${e.secret.direction}=${hex(e.secret.secret)}`] : []));
      expect(secrets).toEqual([
        `early/read=${V4.cEarly}`,
        `handshake/write=${V4.sHs}`,
        `application/write=${V4.sAp}`,
        `handshake/read=${V4.cHs}`,
        `application/read=${V4.cAp}`,
      ]);
    });

    test('§4 resumption: PSK early secret, binder over the truncated ClientHello, early traffic secret and keys, 0-RTT record', () => {
      const ks = new KeySchedule(crypto, 'sha256', h(V3.psk));
      expect(hex(ks.earlySecret)).toBe(V4.early);
      const binderKey = ks.resumptionBinderKey();
      expect(hex(binderKey)).toBe(V4.binderKey);

      const ch = decodeClientHello(RESUME_CLIENT_HELLO.subarray(4));
      const ext = ch.extensions.items;
      expect(ext[ext.length - 1]!.type).toBe(ExtensionType.pre_shared_key);
      const offered = decodeOfferedPsks(ch.extensions.get(ExtensionType.pre_shared_key)!);
      expect(offered.identities[0]!.obfuscatedTicketAge).toBe(0xfad6aacb);
      expect(hex(offered.identities[0]!.identity)).toBe(hex(decodeNewSessionTicket(messages(NEW_SESSION_TICKET)[0]!.body).ticket));
      const truncated = RESUME_CLIENT_HELLO.subarray(0, RESUME_CLIENT_HELLO.length - offered.bindersLength);
      const binderHash = crypto.hash('sha256', truncated);
      expect(hex(binderHash)).toBe(V4.binderHash);
      expect(hex(ks.finishedVerifyData(binderKey, binderHash))).toBe(V4.binder);
      expect(hex(offered.binders[0]!)).toBe(V4.binder);

      const chHash = crypto.hash('sha256', RESUME_CLIENT_HELLO);
      const early = ks.clientEarlyTrafficSecret(chHash);
      expect(hex(early)).toBe(V4.cEarly);
      expect(hex(ks.earlyExporterMasterSecret(chHash))).toBe(V4.earlyExporter);
      const k = trafficKeys(crypto, AES128, early);
      expect([hex(k.key), hex(k.iv)]).toEqual([V4.earlyKey, V4.earlyIv]);
      const rec = openRecord(crypto, k.key, k.iv, h(V4.earlyRecord));
      expect(rec.type).toBe(23);
      expect(hex(rec.content)).toBe(V4.earlyData);
    });
  });
}
