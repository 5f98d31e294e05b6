import type { ContactEvent, TemplateCardEvent } from '@oa/wecom';
import type { AppDeps } from '../deps.ts';
import { eventJobPayload, EVENT_JOB, handleCardClick, processEvent, sweepCards, SWEEP_JOB } from './card-actions.ts';
import { WecomChannel } from './channel.ts';
import { wecomOf } from './module.ts';
import { applyContactEvent } from './sync.ts';

/**
 * Wires WeCom into the app when it is configured (R20.0, issue 6): the `wecom` personal channel (so
 * the notification centre writes WeCom rows), the callback event job, the card-click handler and
 * the per-minute card sweep. Without WECOM_* nothing is registered and WeCom stays off.
 */
export function installWecom(deps: AppDeps): void {
  const mod = wecomOf(deps);
  if (!mod) return;
  deps.channels.register(new WecomChannel(deps, mod));
  mod.onEvent('template_card_event', (ev, meta) => handleCardClick(deps, mod, ev as TemplateCardEvent, meta.dedupeKey));
  // incremental contact sync (issue 6 item 5, P4): the sync module applies the event, once per dedupe key
  mod.onEvent('change_contact', async (ev, meta) => {
    const r = await applyContactEvent(
      { db: deps.db, clock: deps.clock, log: deps.log, client: mod.contactClient ?? mod.client, sessions: deps.sessions },
      ev as ContactEvent,
      { dedupeKey: meta.dedupeKey, actor: { id: null, name: '企业微信通讯录回调' } },
    );
    return `contact sync run ${r.runId}${r.replay ? ' (replay)' : ''}${r.applied ? '' : ' (not applied)'}`;
  });
  deps.jobs.register(EVENT_JOB, (payload) => processEvent(deps, mod, eventJobPayload(payload).eventId));
  deps.jobs.every(SWEEP_JOB, '* * * * *', async () => {
    await sweepCards(deps, mod);
  });
}
