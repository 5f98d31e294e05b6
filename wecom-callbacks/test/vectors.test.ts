import test from 'ava';
import fs from 'node:fs';
import { getSignature } from '@wecom/crypto';
import { parseEvent, signJsApi, stripFragment, verifyUrl, WecomCallbackError, type CallbackConfig } from '../src/index.ts';

// Every vector of ../shared/wecom/vectors.json (SPEC.md §2.6, §6.2): callback crypto (S1 integrity) and JS-SDK signatures (R20.0).
// Read from the shared folder at run time (not copied into the project); a clone without it skips
// these tests with a printed reason.

const shared = new URL('../../../shared/wecom/vectors.json', import.meta.url);
const present = fs.existsSync(shared);
const vectors = (present ? JSON.parse(fs.readFileSync(shared, 'utf8')) : { callback_crypto_vectors: [], jssdk_vectors: [] }) as {
  callback_crypto_vectors: Array<Record<string, any>>;
  jssdk_vectors: Array<Record<string, any>>;
};
if (!present) console.log('# skipped: ../shared/wecom/vectors.json is not present in this clone');

(present ? test : test.skip)('all vectors are covered', (t) => {
  t.is(vectors.callback_crypto_vectors.length, 3);
  t.is(vectors.jssdk_vectors.length, 1);
});

for (const v of vectors.callback_crypto_vectors) {
  const cfg: CallbackConfig = { token: v.token, encodingAesKey: v.encoding_aes_key, corpId: v.receiveid };

  test(`R20.0/S1 vector ${v.id}: signature recomputes`, (t) => {
    t.is(getSignature(v.token, v.timestamp, v.nonce, v.encrypt), v.msg_signature);
  });

  if (String(v.kind).startsWith('url_verification')) {
    test(`R20.0/S1 vector ${v.id}: verifyUrl returns the plaintext as is`, (t) => {
      const echo = verifyUrl({ msg_signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce, echostr: v.encrypt }, cfg);
      t.is(echo, v.verification.decrypted);
      t.is(echo, v.expected_plaintext_derived);
    });

    if (v.echostr_as_sent_urlencoded) {
      test(`R20.0/S1 vector ${v.id}: the URL-encoded request line decodes to the same echo`, (t) => {
        const line = new URL(v.sample_request_line.replace(/^GET /, 'http://x'));
        const query = Object.fromEntries(line.searchParams);
        t.is(query.echostr, v.encrypt);
        t.is(verifyUrl(query, cfg), v.verification.decrypted);
        // a parser that turns a literal '+' into ' ' must not break verification (SPEC.md §2.2)
        t.is(verifyUrl({ ...query, echostr: v.encrypt.replace(/\+/g, ' ') }, cfg), v.verification.decrypted);
      });
    }

    test(`R20.0/S1 vector ${v.id}: another corp id is refused (-40005)`, (t) => {
      const err = t.throws(() => verifyUrl({ msg_signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce, echostr: v.encrypt }, { ...cfg, corpId: 'wwsomeoneelse' }), {
        instanceOf: WecomCallbackError,
      });
      t.is(err?.code, 'wrong_receiver');
      t.is(err?.cryptoCode, -40005);
      t.is(err?.httpStatus, 401);
    });
  } else {
    test(`R20.0/S1 vector ${v.id}: parseEvent decrypts the POST body`, (t) => {
      const parsed = parseEvent({ msg_signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce }, v.post_body, cfg);
      t.is(parsed.plaintext, v.expected_plaintext);
      t.is(parsed.plaintext, v.verification.decrypted);
      t.is(parsed.event.kind, 'message');
      if (parsed.event.kind !== 'message') return;
      t.is(parsed.event.msgType, 'text');
      t.is(parsed.event.content, 'hello');
      t.is(parsed.event.userId, 'mycreate');
      t.is(parsed.event.msgId, '4561255354251345929'); // kept as text: does not fit a double
      t.is(parsed.event.agentId, 218);
      t.is(parsed.dedupeKey, 'msg:4561255354251345929');
    });

    test(`R20.0/S1 vector ${v.id}: element order of the envelope does not matter`, (t) => {
      const reordered = `<xml>\n<ToUserName><![CDATA[${v.receiveid}]]></ToUserName>\n<AgentID><![CDATA[218]]></AgentID>\n<Encrypt><![CDATA[${v.encrypt}]]></Encrypt>\n</xml>`;
      t.is(parseEvent({ msg_signature: v.msg_signature, timestamp: v.timestamp, nonce: v.nonce }, reordered, cfg).plaintext, v.expected_plaintext);
    });
  }
}

for (const v of vectors.jssdk_vectors) {
  test(`R20.0 JS-SDK vector ${v.id}: JS-SDK signature`, (t) => {
    t.is(signJsApi({ ticket: v.jsapi_ticket, url: v.url, nonceStr: v.noncestr, timestamp: v.timestamp }), v.signature);
    // the fragment is removed before signing
    t.is(signJsApi({ ticket: v.jsapi_ticket, url: `${v.url}#/pages/approve?id=1`, nonceStr: v.noncestr, timestamp: Number(v.timestamp) }), v.signature);
    t.is(stripFragment(`${v.url}#x#y`), v.url);
  });
}
