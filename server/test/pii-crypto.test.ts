import crypto from 'node:crypto';
import test from 'ava';
import { PiiCipher, PiiDecryptError, maskAddress, maskBankAccount, maskIdNumber, piiContext } from '../src/org/pii-crypto.ts';

// R12.2 / BAR DC-2: field-level AES-256-GCM for sensitive personal data, bound to its row and field.

const secret = crypto.randomBytes(48);
const cipher = PiiCipher.fromSecret(secret);
const ID = '440106199001011234';
const here = piiContext('person_profile', 'idNumber', 7);

test('R12.2 encrypts to v1: text that decrypts in its own place only, with a fresh IV each time', (t) => {
  const a = cipher.encrypt(ID, here);
  const b = cipher.encrypt(ID, here);
  t.regex(a, /^v1:[A-Za-z0-9+/]+=*$/);
  t.not(a, b, 'random IV: equal values do not look equal');
  t.false(a.includes(ID));
  t.false(Buffer.from(a.slice(3), 'base64').toString('latin1').includes(ID));
  t.is(cipher.decrypt(a, here), ID);
  t.is(cipher.decrypt(cipher.encrypt('广州市天河区体育西路 1 号', here), here), '广州市天河区体育西路 1 号');
  t.is(cipher.decrypt(cipher.encrypt('', here), here), '');
});

test('R12.2 a tampered ciphertext is refused', (t) => {
  const enc = cipher.encrypt(ID, here);
  const raw = Buffer.from(enc.slice(3), 'base64');
  for (const at of [0, 12, 28, raw.length - 1]) {
    const bad = Buffer.from(raw);
    bad[at] = bad[at]! ^ 1;
    t.throws(() => cipher.decrypt('v1:' + bad.toString('base64'), here), { instanceOf: PiiDecryptError }, `byte ${at}`);
  }
  t.throws(() => cipher.decrypt(enc.slice(0, 20), here), { instanceOf: PiiDecryptError }, 'truncated');
  t.throws(() => cipher.decrypt(enc.replace('v1:', 'v2:'), here), { instanceOf: PiiDecryptError }, 'unknown version');
  t.throws(() => cipher.decrypt(ID, here), { instanceOf: PiiDecryptError }, 'plaintext in the column');
});

test('R12.2 a ciphertext copied to another person or another field does not decrypt', (t) => {
  const enc = cipher.encrypt(ID, here);
  t.throws(() => cipher.decrypt(enc, piiContext('person_profile', 'idNumber', 8)), { instanceOf: PiiDecryptError });
  t.throws(() => cipher.decrypt(enc, piiContext('person_profile', 'bankAccount', 7)), { instanceOf: PiiDecryptError });
  t.throws(() => cipher.decrypt(enc, piiContext('person_file_change', 'idNumber', 7)), { instanceOf: PiiDecryptError });
});

test('R12.2 another SECRET_KEY opens nothing; the blind index is keyed and deterministic', (t) => {
  const enc = cipher.encrypt(ID, here);
  const other = PiiCipher.fromSecret(crypto.randomBytes(48));
  t.throws(() => other.decrypt(enc, here), { instanceOf: PiiDecryptError });
  t.is(cipher.blindIndex('idNumber', ID), cipher.blindIndex('idNumber', ID));
  t.regex(cipher.blindIndex('idNumber', ID), /^[0-9a-f]{64}$/);
  t.not(cipher.blindIndex('idNumber', ID), other.blindIndex('idNumber', ID), 'a dictionary of ID numbers needs the key');
  t.not(cipher.blindIndex('idNumber', ID), cipher.blindIndex('bankAccount', ID), 'kinds are separated');
  t.not(cipher.blindIndex('idNumber', ID), crypto.createHash('sha256').update(ID).digest('hex'));
  t.throws(() => new PiiCipher(Buffer.alloc(32, 1), Buffer.alloc(32, 1)));
  t.throws(() => new PiiCipher(Buffer.alloc(16), Buffer.alloc(32)));
});

test('R12.2 masks: ID number first 3 and last 4, bank account last 4, address first 6 characters', (t) => {
  t.is(maskIdNumber('440106199001011234'), '440***********1234');
  t.is(maskIdNumber('11010519491231002X'), '110***********002X');
  t.is(maskIdNumber('1234567'), '*******');
  t.is(maskBankAccount('6222020200112233445'), '***************3445');
  t.is(maskBankAccount('1234'), '****');
  t.is(maskAddress('广东省广州市天河区体育西路 1 号'), '广东省广州市****');
  t.is(maskAddress('北京'), '北****');
  t.is(maskAddress('x'), '****');
});
