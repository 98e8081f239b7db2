import crypto from "node:crypto";
import type { Requester, UpstashRequest, UpstashResponse } from "@upstash/redis";
import { isRedisUnavailable } from "~/server/platform/redis/errors";
import type { PushListener, PushSubscription } from "~/server/platform/redis/push";

// @upstash/redis is the one Redis API the code uses. It talks REST to Upstash in hosted
// deployments; for self-hosting, tests and the zero-install demo it takes a "requester" instead,
// which receives the same three request shapes the REST API does:
//   no path           -> one command            -> { result } | { error }
//   path ["pipeline"]  -> commands, in order     -> [{ result } | { error }, ...]
//   path ["multi-exec"]-> commands, as MULTI/EXEC -> [{ result } | { error }, ...]
// Each transport below only has to run a command array and return its raw reply; when Redis cannot
// be reached it throws a RedisUnavailableError (./errors.ts).

type Command = (string | number)[];
export type Reply = unknown;

export interface CommandRunner {
  run(command: string[]): Promise<Reply>;
  runAtomically(commands: string[][]): Promise<{ result?: Reply; error?: string }[]>;
  close(): Promise<void>;
  /** Pub/sub on its own connection (./push.ts); absent where there is none to hold (Upstash's REST API). */
  subscribe?(channel: string, listener: PushListener): PushSubscription;
}

/** Redis >= 7.4 understands this shebang flag; 7.0 rejects the script. The flag only relaxes locking. */
const UNSUPPORTED_SHEBANG = /^#!lua flags=allow-key-locking[^\n]*\n/;

const sha1 = (text: string) => crypto.createHash("sha1").update(text).digest("hex");

/**
 * A command's failure as the REST API answers it, `{ error }`, which @upstash/redis turns into an
 * UpstashError with that message. Redis being unreachable is not such an answer: it is rethrown
 * as the typed error the runner made, and @upstash/redis hands it to the caller unchanged.
 */
function failedCommand(error: unknown): { error: string } {
  if (isRedisUnavailable(error)) throw error;
  return { error: error instanceof Error ? error.message : String(error) };
}

export function createRequester(runner: CommandRunner): Requester & { close(): Promise<void> } {
  // EVALSHA is sent with the SHA of the script as the caller knows it; when we had to rewrite the
  // script, map that SHA to the one Redis knows so every call stays a single round trip.
  const rewrittenSha = new Map<string, string>();

  const normalize = (command: Command): string[] => {
    const args = command.map((a) => (typeof a === "string" ? a : String(a)));
    const name = args[0]?.toUpperCase();
    if ((name === "EVAL" || (name === "SCRIPT" && args[1]?.toUpperCase() === "LOAD")) && args.length > 1) {
      const index = name === "EVAL" ? 1 : 2;
      const original = args[index]!;
      if (UNSUPPORTED_SHEBANG.test(original)) {
        const stripped = original.replace(UNSUPPORTED_SHEBANG, "");
        rewrittenSha.set(sha1(original), sha1(stripped));
        args[index] = stripped;
      }
    } else if (name === "EVALSHA" && args[1]) {
      args[1] = rewrittenSha.get(args[1].toLowerCase()) ?? args[1];
    }
    return args;
  };

  return {
    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const path = req.path?.[0];
      if (path === "pipeline" || path === "multi-exec") {
        const commands = (req.body as Command[]).map(normalize);
        if (path === "multi-exec") {
          return (await runner.runAtomically(commands)) as unknown as UpstashResponse<TResult>;
        }
        // Commands sent without awaiting each other are pipelined on one connection, in order.
        const replies = await Promise.all(commands.map((c) => runner.run(c).then((result) => ({ result: result ?? null }), failedCommand)));
        return replies as unknown as UpstashResponse<TResult>;
      }
      try {
        const result = await runner.run(normalize(req.body as Command));
        return { result: (result ?? null) as TResult };
      } catch (error) {
        return failedCommand(error) as UpstashResponse<TResult>;
      }
    },
    close: () => runner.close(),
  };
}
