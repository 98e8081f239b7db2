import crypto from "node:crypto";
import { REDIS_CLUSTER_COMMAND_TIMEOUT_MS, REDIS_CLUSTER_CONNECT_TIMEOUT_MS, REDIS_CLUSTER_REDISCOVER_EVERY_MS } from "~/server/policy";
import { isUnavailableReply, redisUnavailable } from "~/server/platform/redis/errors";
import { tcpPushSubscription, type PushListener } from "~/server/platform/redis/push";
import { keysOf, slotOf } from "~/server/platform/redis/slots";
import type { CommandRunner, Reply } from "~/server/platform/redis/transports";

const replyOf = (r: unknown) => (r instanceof Error ? { error: r.message } : { result: r ?? null });

/** A MULTI/EXEC's answers, one per command, as the requester returns them. */
async function transactionReplies(exec: () => Promise<unknown>, commands: string[][], classify: (error: unknown) => unknown) {
  try {
    return ((await exec()) as unknown[]).map(replyOf);
  } catch (error) {
    // Some commands failed inside the transaction (MultiErrorReply): each gets its own answer.
    const replies = (error as { replies?: unknown[] }).replies;
    if (Array.isArray(replies)) return replies.map(replyOf);
    const failure = classify(error);
    if (failure !== error) throw failure;
    // Redis refused the whole transaction (EXECABORT): every command answers that.
    return commands.map(() => ({ error: (failure as Error).message }));
  }
}

/** A real Redis over TCP (self-hosting, tests, CI) through node-redis, speaking RESP2 replies. */
export async function tcpRunner(url: string): Promise<CommandRunner> {
  const { createClient, ErrorReply } = await import("redis");
  // What node-redis throws is either Redis's reply to the command (ErrorReply: the command was
  // wrong, e.g. WRONGTYPE, and is passed on as it is) or a sign that Redis could not be asked
  // (offline, socket closed, timeout, closed client) or cannot answer now (LOADING...).
  const classify = (error: unknown) => (error instanceof ErrorReply && !isUnavailableReply(error.message) ? error : redisUnavailable(error));
  // RESP2: @upstash/redis expects the REST API's reply shapes (flat arrays for HGETALL etc.).
  // Offline queue off: while Redis is unreachable a command fails at once (a typed 503) instead of hanging.
  let everConnected = false;
  const client = createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // Give up a first connection quickly; once up, keep reconnecting with a capped back-off.
      reconnectStrategy: (retries, cause) => (!everConnected && retries >= 2 ? cause : Math.min(retries * 100, 2_000)),
    },
  });
  client.on("ready", () => {
    everConnected = true;
  });
  client.on("error", () => {
    // Reconnects on its own; the failing command reports the error to its caller.
  });
  // node-redis retries a first connection forever; fail it after a few seconds instead, so a
  // request gets SERVICE_UNAVAILABLE and the next one tries again.
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Could not connect to Redis at ${new URL(url).host} within 5 s`)), 5_000);
      }),
    ]);
  } catch (error) {
    // After a given-up connection the client is already closed, and destroy() throws ClientClosedError.
    if (client.isOpen) client.destroy();
    throw redisUnavailable(error);
  } finally {
    clearTimeout(timer);
  }
  return {
    async run(command) {
      try {
        return (await client.sendCommand(command)) as Reply;
      } catch (error) {
        throw classify(error);
      }
    },
    runAtomically(commands) {
      const multi = client.multi();
      for (const c of commands) multi.addCommand(c);
      return transactionReplies(() => multi.exec(), commands, classify);
    },
    // Not QUIT: when Redis has just died it can wait forever for an answer. Commands still in
    // flight fail (as an outage) instead.
    close: async () => {
      if (client.isOpen) client.destroy();
    },
    subscribe: (channel, listener) => tcpPushSubscription([url], channel, listener),
  };
}

type MockClient = Record<string, (...args: string[]) => Promise<unknown>> & {
  multi(commands: string[][]): { exec(): Promise<[Error | null, unknown][]> };
  disconnect(): void;
  /** Another connection to the same in-memory data (and pub/sub). */
  duplicate(): MockClient;
  on(event: "message", handler: (channel: string, message: string) => void): void;
};

// ioredis-mock reads SET options only in upper case.
const SET_OPTIONS = new Set(["EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET"]);

function toMockArgs(command: string[]): [string, string[]] {
  const name = command[0]!.toLowerCase();
  const args = command.slice(1);
  if (name === "set") return [name, args.map((a, i) => (i >= 2 && SET_OPTIONS.has(a.toUpperCase()) ? a.toUpperCase() : a))];
  return [name, args];
}

function fromMockReply(name: string, reply: unknown): Reply {
  // The REST API (and RESP2) answer HGETALL with a flat [field, value, ...] array.
  if (name === "hgetall" && reply && typeof reply === "object" && !Array.isArray(reply)) {
    return Object.entries(reply as Record<string, unknown>).flat();
  }
  if (reply === undefined || reply === false) return null;
  return reply;
}

/**
 * The zero-install default: an in-memory Redis (ioredis-mock, Lua through fengari) inside the app
 * process. It holds nothing across restarts and is not shared between processes; the same contract
 * tests that run against real Redis run against it.
 */
export async function embeddedRunner(): Promise<CommandRunner> {
  const { default: RedisMock } = (await import("ioredis-mock")) as unknown as { default: new () => MockClient };
  const client = new RedisMock();
  return {
    async run(command) {
      const [name, args] = toMockArgs(command);
      const fn = client[name];
      if (typeof fn !== "function") throw new Error(`ERR unknown command '${name}' in the embedded Redis`);
      return fromMockReply(name, await fn.apply(client, args));
    },
    async runAtomically(commands) {
      const prepared = commands.map(toMockArgs);
      const replies = await client.multi(prepared.map(([name, args]) => [name, ...args])).exec();
      return replies.map(([error, reply], i) => (error ? { error: error.message } : { result: fromMockReply(prepared[i]![0], reply) }));
    },
    close: async () => client.disconnect(),
    subscribe(channel: string, listener: PushListener) {
      const subscriber = client.duplicate();
      subscriber.on("message", (from, message) => {
        if (from === channel) listener.message(message);
      });
      void subscriber.subscribe!(channel)!.then(() => listener.up());
      return { close: async () => subscriber.disconnect() };
    },
  };
}

/**
 * Redis Cluster (REDIS_CLUSTER_NODES) through node-redis's cluster client, speaking RESP2 like
 * tcpRunner. Each command goes to the master of its first key's slot (every script's keys share
 * one slot: platform/redis/keys.ts); a multi-key DEL/EXISTS/UNLINK/TOUCH is split by slot; SCAN
 * with a hash tag in its MATCH runs on that tag's node, otherwise on every master in turn (one
 * cursor); KEYS asks every master. Never a hang: a first connection and every command are bounded
 * (REDIS_CLUSTER_*_TIMEOUT_MS), a node that cannot be reached fails the command at once (no
 * offline queue), and any such failure has the slot map read again, so the replica promoted in a
 * failover is used as soon as the cluster says so. EVALSHA of a script the node does not know
 * (a promoted replica, a new node) is sent again as EVAL when this process has seen the script.
 */
export async function clusterRunner(nodes: readonly string[]): Promise<CommandRunner> {
  const { createCluster, ErrorReply } = await import("redis");
  const rootNodes = nodes.map((node) => ({ url: `redis://${node}` }));
  const cluster = createCluster({
    rootNodes,
    RESP: 2,
    useReplicas: false,
    defaults: {
      disableOfflineQueue: true,
      socket: { connectTimeout: REDIS_CLUSTER_CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(retries * 100, 1_000) },
    },
  });
  // Reconnects on its own; the failing command reports the error to its caller.
  cluster.on("error", () => undefined);
  cluster.on("node-error", () => undefined);

  let lastRediscovery = 0;
  const rediscover = () => {
    const now = Date.now();
    if (now - lastRediscovery < REDIS_CLUSTER_REDISCOVER_EVERY_MS || !cluster.isOpen) return;
    lastRediscovery = now;
    // Asks a master that still answers first, then the configured nodes.
    const start = cluster.masters.find((m) => m.client?.isReady)?.client ?? { options: rootNodes[0] };
    cluster._slots.rediscover(start as Parameters<typeof cluster._slots.rediscover>[0]).catch(() => undefined);
  };
  const classify = (error: unknown) => {
    if (error instanceof ErrorReply && !isUnavailableReply(error.message)) return error;
    rediscover();
    return redisUnavailable(error);
  };
  const bounded = async <T>(work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`No answer from Redis Cluster within ${REDIS_CLUSTER_COMMAND_TIMEOUT_MS} ms`)),
            REDIS_CLUSTER_COMMAND_TIMEOUT_MS,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      cluster.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Could not connect to Redis Cluster (${nodes.join(", ")}) within 5 s`)), REDIS_CLUSTER_CONNECT_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    if (cluster.isOpen) cluster.destroy();
    throw redisUnavailable(error);
  } finally {
    clearTimeout(timer);
  }

  const scripts = new Map<string, string>();
  const send = async (command: string[]): Promise<Reply> => {
    const keys = keysOf(command);
    try {
      return await bounded(cluster.sendCommand(keys[0], false, command));
    } catch (error) {
      const name = command[0]!.toUpperCase();
      const script =
        name === "EVALSHA" && error instanceof ErrorReply && error.message.startsWith("NOSCRIPT") ? scripts.get(command[1]!.toLowerCase()) : undefined;
      if (script === undefined) throw classify(error);
      try {
        return await bounded(cluster.sendCommand(keys[0], false, ["EVAL", script, ...command.slice(2)]));
      } catch (again) {
        throw classify(again);
      }
    }
  };
  const masterClients = async () => Promise.all(cluster.masters.map((m) => Promise.resolve(cluster.nodeClient(m))));

  /** SCAN without a hash tag: every master in turn, under one cursor (the node's cursor * 1024 + the master's index). */
  const scanAll = async (command: string[]): Promise<Reply> => {
    const masters = [...cluster.masters].sort((a, b) => a.address.localeCompare(b.address));
    let combined = BigInt(command[1] ?? "0");
    for (;;) {
      const index = Number(combined % 1024n);
      const master = masters[index];
      if (!master) return ["0", []];
      const client = await bounded(Promise.resolve(cluster.nodeClient(master)));
      const [next, keys] = (await bounded(client.sendCommand(["SCAN", String(combined / 1024n), ...command.slice(2)]))) as [string, string[]];
      if (next !== "0") return [String(BigInt(next) * 1024n + BigInt(index)), keys];
      if (index + 1 >= masters.length) return ["0", keys];
      if (keys.length) return [String(index + 1), keys];
      combined = BigInt(index + 1);
    }
  };

  const run = async (command: string[]): Promise<Reply> => {
    const name = command[0]!.toUpperCase();
    if (name === "EVAL" || (name === "SCRIPT" && command[1]?.toUpperCase() === "LOAD")) {
      const script = command[name === "EVAL" ? 1 : 2]!;
      scripts.set(crypto.createHash("sha1").update(script).digest("hex"), script);
    }
    if (name === "SCAN") {
      const matchAt = command.findIndex((a, i) => i > 1 && a.toUpperCase() === "MATCH");
      // A pattern naming a hash tag (one user's keys) only has keys on that tag's node.
      const tag = matchAt > 0 ? /\{[^{}*?[\]\\]+\}/.exec(command[matchAt + 1] ?? "")?.[0] : undefined;
      try {
        return tag ? await bounded(cluster.sendCommand(tag, false, command)) : await scanAll(command);
      } catch (error) {
        throw classify(error);
      }
    }
    if (name === "KEYS") {
      try {
        const all = await Promise.all((await masterClients()).map((client) => bounded(client.sendCommand(command))));
        return (all as unknown as string[][]).flat();
      } catch (error) {
        throw classify(error);
      }
    }
    if (SPLIT_BY_SLOT.has(name) && command.length > 2) {
      const groups = new Map<number, string[]>();
      for (const key of command.slice(1)) groups.set(slotOf(key), [...(groups.get(slotOf(key)) ?? []), key]);
      if (groups.size > 1) {
        const counts = await Promise.all([...groups.values()].map((keys) => send([command[0]!, ...keys])));
        return counts.reduce<number>((sum, n) => sum + Number(n), 0);
      }
    }
    return send(command);
  };

  return {
    run,
    runAtomically(commands) {
      const multi = cluster.multi(commands.flatMap(keysOf)[0]);
      for (const c of commands) multi.addCommand(keysOf(c)[0], false, c);
      return transactionReplies(() => bounded(multi.exec()), commands, classify);
    },
    close: async () => {
      if (cluster.isOpen) cluster.destroy();
    },
    subscribe: (channel, listener) =>
      tcpPushSubscription(
        nodes.map((node) => `redis://${node}`),
        channel,
        listener,
      ),
  };
}

/** Multi-key commands whose answer is a count: split by slot on a cluster, and the counts added. */
const SPLIT_BY_SLOT = new Set(["DEL", "UNLINK", "EXISTS", "TOUCH"]);
