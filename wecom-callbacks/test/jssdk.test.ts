import test from 'ava';
import { createHash } from 'node:crypto';
import { JsapiTicketCache, WecomApiError, WecomError } from '../src/index.ts';
import { setup } from './helpers.ts';

// JS-SDK signatures (issue 6 item 4; R20.0 H5 inside WeCom): tickets cached per corp / per app with a
// single flight and an hourly budget under WeCom's 400 / 100 limits; URL signed without its fragment.

test('issue 6.4: tickets are fetched once under concurrency and cached until shortly before expiry', async (t) => {
  const { fake, client, clock } = await setup(t);
  const cache = new JsapiTicketCache(client, { now: clock.now, nonce: () => 'Wm3WZYTPz0wzccnW' });
  const pages = await Promise.all(Array.from({ length: 10 }, (_, i) => cache.signPage(`https://oa.example/h5/?a=${i}#/task/${i}`)));
  t.is(fake.callCount('/cgi-bin/get_jsapi_ticket'), 1);
  t.is(fake.callCount('/cgi-bin/ticket/get'), 1);
  t.is(pages[3]!.url, 'https://oa.example/h5/?a=3');
  t.is(pages[3]!.corpId, fake.corpId);
  t.is(pages[3]!.agentId, fake.app.agentId);
  const corpTicket = await cache.ticket('corp');
  const p = pages[3]!.config;
  t.is(p.signature, createHash('sha1').update(`jsapi_ticket=${corpTicket}&noncestr=${p.nonceStr}&timestamp=${p.timestamp}&url=https://oa.example/h5/?a=3`).digest('hex'));
  t.not(pages[3]!.agentConfig.signature, p.signature);

  clock.advance(7200_000 - 6 * 60_000);
  await cache.signCorp('https://oa.example/');
  t.is(fake.callCount('/cgi-bin/get_jsapi_ticket'), 1);
  clock.advance(2 * 60_000); // now inside the 5-minute window
  await Promise.all([cache.signCorp('https://oa.example/'), cache.signCorp('https://oa.example/x')]);
  t.is(fake.callCount('/cgi-bin/get_jsapi_ticket'), 2);
  t.is(cache.fetchesInLastHour('corp'), 1);
});

test('issue 6.4: own hourly budget is enforced before WeCom blocks the corp; the fake limits at 100 per app', async (t) => {
  const { fake, client, clock } = await setup(t, { ticketTtlSeconds: 1 });
  const cache = new JsapiTicketCache(client, { now: clock.now, agentFetchesPerHour: 3 });
  for (let i = 0; i < 3; i++) {
    await cache.signAgent('https://oa.example/');
    clock.advance(2000);
  }
  const err = await t.throwsAsync(cache.signAgent('https://oa.example/'), { instanceOf: WecomError });
  t.is(err?.code, 'ticket_quota');
  t.is(fake.callCount('/cgi-bin/ticket/get'), 3);
  clock.advance(3_600_000);
  await t.notThrowsAsync(cache.signAgent('https://oa.example/'));

  // the fake itself answers 45009 after 100 agent ticket fetches in an hour
  for (let i = 0; i < 100 - 1; i++) await client.getAgentJsapiTicket(); // 1 fetched above in this hour
  const limited = await t.throwsAsync(client.getAgentJsapiTicket(), { instanceOf: WecomApiError });
  t.is(limited?.errcode, 45009);
});
