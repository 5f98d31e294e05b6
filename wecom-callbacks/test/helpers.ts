import type { ExecutionContext } from 'ava';
import { startFakeWecom, WecomClient, type FakeWecom, type FakeWecomOptions, type WecomClientOptions } from '../src/index.ts';

/** A shared fake clock: `sleep` advances it instead of waiting. */
export function fakeClock(start = Date.UTC(2025, 0, 6, 2, 0, 0)) {
  const state = { now: start, sleeps: [] as number[] };
  return {
    state,
    now: () => state.now,
    advance: (ms: number) => {
      state.now += ms;
    },
    sleep: async (ms: number) => {
      state.sleeps.push(ms);
      state.now += ms;
    },
  };
}

export async function setup(t: ExecutionContext, fakeOpts: FakeWecomOptions = {}, clientOpts: Partial<WecomClientOptions> = {}) {
  const clock = fakeClock();
  const fake: FakeWecom = await startFakeWecom({ now: clock.now, ...fakeOpts });
  t.teardown(() => fake.close());
  const client = new WecomClient({
    corpId: fake.corpId,
    secret: fake.app.secret,
    agentId: fake.app.agentId,
    apiBase: fake.url,
    now: clock.now,
    sleep: clock.sleep,
    ...clientOpts,
  });
  return { fake, client, clock };
}
