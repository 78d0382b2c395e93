import { randomUUID } from 'node:crypto';
import { fastify, type FastifyBaseLogger } from 'fastify';
import { registerApiRoutes } from './api-routes.js';
import { registerControlRoutes } from './control-routes.js';
import { createFaults } from './faults.js';
import type { SimCall, SimStats, SimV2Claims, SimWebhook, Simulator, SimulatorOptions } from './types.js';
import { createWebhookSender, roomWants, signWebhookBody, webhookKeys, type WebhookKeys } from './webhooks.js';
import { createWorld } from './world.js';
import { copy } from './world-views.js';

export type {
  SimCall,
  SimFault,
  SimOperation,
  SimParticipantInput,
  SimRemoveAnswer,
  SimRoom,
  SimSession,
  SimSessionInput,
  SimStats,
  SimV2Claims,
  SimWebhook,
  SimWebhookDelivery,
  Simulator,
  SimulatorOptions,
} from './types.js';

/**
 * A VideoSDK stand-in for the demo, the tests and benchmarks: the v1 remove/fetch endpoints, the
 * v2 sessions, participants, rooms and webhook-key endpoints the official Node server SDK calls,
 * JWT checks like the real API (before routing), injectable faults, and a log of every call.
 * Decisions where VideoSDK documents nothing: removing someone not (or no longer) in the session
 * is `404 {message: "Participant not found in session"}`; an unknown session or room is 404
 * (deactivating by anything but a known `roomId` is 402, as the SDK notes); a v2 `roomId` that is
 * not the session's room is 400; a session ends when its last participant leaves (and opens again
 * when someone joins). Control endpoints live under `/_sim/` and need no token.
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const requireAuth = options.requireAuth ?? options.secret !== undefined;
  const maxCalls = options.maxCalls ?? 100_000;
  let secret = options.secret;
  let credentialValid = true;
  let activeDataShape = options.activeDataShape ?? 'array';
  let v2Claims: SimV2Claims = options.v2Claims ?? 'strict';
  let closed = false;
  /** Bumped by `reset()` so requests still waiting on a fault's delay are dropped, not applied to new state. */
  let generation = 0;
  let url = '';

  let callLog: SimCall[] = [];
  const faults = createFaults();
  // Made on first use: a 2048-bit key costs tens of milliseconds that most runs never need.
  let signingKeys: WebhookKeys | undefined = options.webhookPrivateKey === undefined ? undefined : webhookKeys(options.webhookPrivateKey);
  let webhookUrl = options.webhookUrl;
  const webhooks = createWebhookSender({ sign: (body) => signWebhookBody(body, keys().privateKey), now });

  /** Where VideoSDK sends this room's webhooks: the room's own endpoint (for the events it lists), else the simulator's. */
  function webhookTarget(webhook: SimWebhook): string | undefined {
    const roomId = webhook.data.meetingId ?? webhook.data.roomId;
    const room = typeof roomId === 'string' ? rooms.get(roomId) : undefined;
    if (room?.webhook) return roomWants(room.webhook.events, webhook.webhookType) ? room.webhook.endPoint : undefined;
    return webhookUrl;
  }

  const world = createWorld({
    now,
    url: () => url,
    activeDataShape: () => activeDataShape,
    publicKeyPem: () => keys().publicKeyPem,
    onWebhook(webhook) {
      const target = webhookTarget(webhook);
      if (target !== undefined) void webhooks.deliver(webhook, target);
    },
  });
  const { sessions, rooms, addSession, join, leave } = world;

  function stats(): SimStats {
    const byOperation: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    for (const call of callLog) {
      byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
      const status = String(call.status ?? 'none');
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    let removalsApplied = 0;
    for (const n of world.removals().values()) removalsApplied += n;
    return {
      requests: callLog.length,
      byOperation,
      byStatus,
      removalsApplied,
      removalsByParticipant: Object.fromEntries(world.removals()),
    };
  }

  function keys(): WebhookKeys {
    signingKeys ??= webhookKeys();
    return signingKeys;
  }

  function deliverWebhook(webhook: SimWebhook, given?: string) {
    const target = given ?? webhookTarget(webhook) ?? webhookUrl;
    return target === undefined ? Promise.resolve(undefined) : webhooks.deliver(webhook, target);
  }

  function resetCalls(): void {
    callLog = [];
    world.resetRemovals();
  }

  function reset(): void {
    generation += 1;
    faults.wakeSleepers();
    world.clear();
    faults.clear();
    resetCalls();
    secret = options.secret;
    credentialValid = true;
    activeDataShape = options.activeDataShape ?? 'array';
    v2Claims = options.v2Claims ?? 'strict';
    webhookUrl = options.webhookUrl;
    webhooks.clear();
  }

  const simulator: Simulator = {
    async listen(port = 0, host = '127.0.0.1') {
      url = await app.listen({ port, host });
      return url;
    },
    async close() {
      closed = true;
      faults.wakeSleepers();
      await app.close();
    },
    get url() {
      return url;
    },
    addSession,
    getSession: (id) => {
      const session = sessions.get(id);
      return session ? copy(session) : undefined;
    },
    listSessions: () => [...sessions.values()].map(copy),
    listRooms: () => [...rooms.values()].map(copy),
    join,
    leave,
    addFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    calls: () => callLog.map(copy),
    resetCalls,
    stats,
    setSecret(next) {
      secret = next;
    },
    setCredentialValid(valid) {
      credentialValid = valid;
    },
    setActiveDataShape(shape) {
      activeDataShape = shape;
    },
    setV2Claims(mode) {
      v2Claims = mode;
    },
    signWebhook: (body) => signWebhookBody(body, keys().privateKey),
    webhookPublicKey: () => keys().publicKeyPem,
    setWebhookUrl(next) {
      webhookUrl = next;
    },
    deliverWebhook,
    webhookDeliveries: () => webhooks.deliveries(),
    webhooksSettled: () => webhooks.settled(),
    reset,
  };

  // Typed as fastify's own logger so the routes' modules take a plain `FastifyInstance`.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger;
  const app = fastify({
    loggerInstance,
    forceCloseConnections: true,
    genReqId: () => randomUUID(),
  });
  registerApiRoutes(app, {
    world,
    faults,
    now,
    record(call) {
      callLog.push(call);
      // Trim in batches: one splice per request would make a long benchmark quadratic.
      if (callLog.length > maxCalls + Math.ceil(maxCalls / 10)) callLog.splice(0, callLog.length - maxCalls);
    },
    auth: () => ({ requireAuth, credentialValid, secret, apiKey: options.apiKey, v2Claims }),
    closed: () => closed,
    generation: () => generation,
  });
  registerControlRoutes(app, {
    simulator,
    faultCount: () => faults.count,
    clearWebhooks: () => webhooks.clear(),
    options: () => ({ activeDataShape, v2Claims, webhookUrl: webhookUrl ?? null }),
  });
  return simulator;
}
