import { isUnavailableReply, redisUnavailable } from "~/server/platform/redis/errors";
import type { CommandRunner, Reply } from "~/server/platform/redis/transports";

/** A real Redis over TCP (self-hosting, tests, CI) through node-redis, speaking RESP2 replies. */
export async function tcpRunner(url: string): Promise<CommandRunner> {
  const { createClient, ErrorReply } = await import("redis");
  // What node-redis throws is either Redis's reply to the command (ErrorReply: the command was
  // wrong, e.g. WRONGTYPE, and is passed on as it is) or a sign that Redis could not be asked
  // (offline, socket closed, timeout, closed client) or cannot answer now (LOADING...).
  const classify = (error: unknown) => (error instanceof ErrorReply && !isUnavailableReply(error.message) ? error : redisUnavailable(error));
  const replyOf = (r: unknown) => (r instanceof Error ? { error: r.message } : { result: r ?? null });
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
    async runAtomically(commands) {
      const multi = client.multi();
      for (const c of commands) multi.addCommand(c);
      try {
        return ((await multi.exec()) as unknown[]).map(replyOf);
      } catch (error) {
        // Some commands failed inside the transaction (MultiErrorReply): each gets its own answer.
        const replies = (error as { replies?: unknown[] }).replies;
        if (Array.isArray(replies)) return replies.map(replyOf);
        const failure = classify(error);
        if (failure !== error) throw failure;
        // Redis refused the whole transaction (EXECABORT): every command answers that.
        return commands.map(() => ({ error: failure.message }));
      }
    },
    // Not QUIT: when Redis has just died it can wait forever for an answer. Commands still in
    // flight fail (as an outage) instead.
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

type MockClient = Record<string, (...args: string[]) => Promise<unknown>> & {
  multi(commands: string[][]): { exec(): Promise<[Error | null, unknown][]> };
  disconnect(): void;
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
  };
}
