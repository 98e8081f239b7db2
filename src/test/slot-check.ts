import { commonSlot, keysOf } from "~/server/platform/redis/slots";
import type { CommandRunner } from "~/server/platform/redis/transports";

// On a single Redis, what Redis Cluster would refuse: a script (or MULTI/EXEC) whose keys hash to
// more than one slot. Every test service runs over this check, so the whole suite is the test that
// every script of the app keeps to one slot. Multi-key DEL/EXISTS/... are left to the runner (the
// cluster runner splits them by slot).

const SCRIPT = new Set(["EVAL", "EVALSHA"]);

function crossSlot(keys: string[]): Error {
  return new Error(`CROSSSLOT Keys in request don't hash to the same slot (test check): ${keys.join(" ")}`);
}

export function refuseCrossSlot(inner: CommandRunner): CommandRunner {
  return {
    run(command) {
      if (SCRIPT.has(command[0]!.toUpperCase())) {
        const keys = keysOf(command);
        if (commonSlot(keys) === null) return Promise.reject(crossSlot(keys));
      }
      return inner.run(command);
    },
    runAtomically(commands) {
      const keys = commands.flatMap(keysOf);
      if (commonSlot(keys) === null) return Promise.reject(crossSlot(keys));
      return inner.runAtomically(commands);
    },
    close: () => inner.close(),
  };
}
