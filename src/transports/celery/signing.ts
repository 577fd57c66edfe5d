/**
 * Message signing compatible with Celery's `auth` serializer (`celery.security`, Celery 5.2).
 *
 * What `SecureSerializer.serialize` produces, read from its source:
 *
 *   b64encode(signer + b"\x00\x01" + signature + b"\x00\x01" + content_type + b"\x00\x01"
 *             + content_encoding + b"\x00\x01" + body)
 *
 * - `signer` is `Certificate.get_id()`: the issuer's attribute values joined by spaces, a space, then the
 *   certificate's serial number in decimal.
 * - `signature` is the RAW signature bytes (not base64): RSA-PSS with MGF1 over the same digest
 *   (`security_digest`, sha256 by default) and the maximum salt length, over the serialized body. The
 *   receiver cuts it out by length (key size / 8), so raw 0x00 0x01 bytes inside it are harmless.
 * - `content_type` / `content_encoding` are those of the inner serializer: `application/json`, `utf-8`.
 * - `body` is the body JSON.
 *
 * The message then travels with content type `application/data`. Only the body is signed, not headers.
 */
import { constants, createPrivateKey, sign, X509Certificate } from 'node:crypto';

const SIGNED_CONTENT_TYPE = 'application/data';
const SIGNED_CONTENT_ENCODING = 'utf-8';
const SEP = Buffer.from([0x00, 0x01]);

export interface SigningKeys {
  /** The PEM private key (RSA) matching `certPem`, as the workers' `security_key`. */
  keyPem: string;
  /** The PEM certificate whose id names the signer; the workers' `security_cert_store` must hold it. */
  certPem: string;
  /** The workers' `security_digest`; Celery's default is `sha256`. */
  digest?: string;
}

export interface SignedBody {
  /** base64 of the packed signed payload; on Redis the transport base64-encodes it once more. */
  body: string;
  contentType: typeof SIGNED_CONTENT_TYPE;
  contentEncoding: typeof SIGNED_CONTENT_ENCODING;
}

/** Signs a body JSON string for Celery's `auth` serializer. */
export function signBody(bodyJson: string, keys: SigningKeys): SignedBody {
  if (typeof bodyJson !== 'string') throw new TypeError('signBody: bodyJson must be a string');
  const digest = keys.digest ?? 'sha256';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(keys.certPem);
  } catch (err) {
    throw new Error(`signBody: certPem is not a valid PEM certificate: ${(err as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keys.keyPem);
  } catch (err) {
    throw new Error(`signBody: keyPem is not a valid PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(
      `signBody: keyPem must be an RSA key (Celery signs with RSA-PSS), got ${key.asymmetricKeyType}`,
    );
  }
  if (!cert.checkPrivateKey(key))
    throw new Error('signBody: keyPem does not match the certificate in certPem');

  const body = Buffer.from(bodyJson, 'utf8');
  const signature = sign(digest, body, {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  });
  const packed = Buffer.concat([
    Buffer.from(certificateSignerId(cert), 'utf8'),
    SEP,
    signature,
    SEP,
    Buffer.from('application/json', 'utf8'),
    SEP,
    Buffer.from('utf-8', 'utf8'),
    SEP,
    body,
  ]);
  return {
    body: packed.toString('base64'),
    contentType: SIGNED_CONTENT_TYPE,
    contentEncoding: SIGNED_CONTENT_ENCODING,
  };
}

/**
 * Celery's `Certificate.get_id()`: `' '.join(attr.value for attr in cert.issuer)` + ' ' + decimal serial.
 * Read from the certificate's DER rather than from Node's `issuer` text, which escapes and quotes values.
 */
export function certificateSignerId(cert: X509Certificate | string): string {
  const x509 = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  const { issuerValues, serial } = parseIssuerAndSerial(x509.raw);
  return `${issuerValues.join(' ')} ${serial.toString()}`;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('certificate DER is truncated');
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new Error('certificate DER uses an unsupported high tag number');
  let len = der[offset + 1] as number;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('certificate DER has an unsupported length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] as number);
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new Error('certificate DER is truncated');
  return { tag, start, end };
}

function expect(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new Error(`certificate DER: expected ${what}`);
  return t;
}

function decodeString(tag: number, bytes: Buffer): string {
  switch (tag) {
    case 0x1e: // BMPString: UTF-16BE
      return Buffer.from(bytes).swap16().toString('utf16le');
    case 0x1c: {
      // UniversalString: UTF-32BE
      let s = '';
      for (let i = 0; i + 3 < bytes.length; i += 4) s += String.fromCodePoint(bytes.readUInt32BE(i));
      return s;
    }
    case 0x14: // TeletexString: read as Latin-1
      return bytes.toString('latin1');
    default: // UTF8String, PrintableString, IA5String, VisibleString, NumericString
      return bytes.toString('utf8');
  }
}

function parseIssuerAndSerial(der: Buffer): { issuerValues: string[]; serial: bigint } {
  const certificate = expect(readTlv(der, 0, der.length), 0x30, 'Certificate SEQUENCE');
  const tbs = expect(readTlv(der, certificate.start, certificate.end), 0x30, 'TBSCertificate SEQUENCE');
  let t = readTlv(der, tbs.start, tbs.end);
  if (t.tag === 0xa0) t = readTlv(der, t.end, tbs.end); // [0] version
  const serialTlv = expect(t, 0x02, 'serialNumber INTEGER');
  const serialBytes = der.subarray(serialTlv.start, serialTlv.end);
  let serial = serialBytes.length > 0 ? BigInt(`0x${serialBytes.toString('hex')}`) : 0n;
  if (serialBytes.length > 0 && ((serialBytes[0] as number) & 0x80) !== 0)
    serial -= 1n << BigInt(8 * serialBytes.length);
  const sigAlg = expect(readTlv(der, serialTlv.end, tbs.end), 0x30, 'signature AlgorithmIdentifier');
  const issuer = expect(readTlv(der, sigAlg.end, tbs.end), 0x30, 'issuer Name');
  const issuerValues: string[] = [];
  for (let p = issuer.start; p < issuer.end; ) {
    const rdn = expect(readTlv(der, p, issuer.end), 0x31, 'RelativeDistinguishedName SET');
    for (let q = rdn.start; q < rdn.end; ) {
      const atv = expect(readTlv(der, q, rdn.end), 0x30, 'AttributeTypeAndValue SEQUENCE');
      const oid = expect(readTlv(der, atv.start, atv.end), 0x06, 'attribute OID');
      const value = readTlv(der, oid.end, atv.end);
      issuerValues.push(decodeString(value.tag, der.subarray(value.start, value.end)));
      q = atv.end;
    }
    p = rdn.end;
  }
  return { issuerValues, serial };
}
