import { LIVE_PUSH_PING_MS, LIVE_PUSH_RETRY_MS } from "~/server/policy";

// Redis pub/sub, for the live hub (src/server/live/hub.ts): one connection per app instance that
// receives every notification published on one channel. Pub/sub loses what is published while the
// connection is down, so the listener is told each time the subscription is (re)established
// (`up`): that is when whoever relies on it reads its source of truth again. While it is down
// (`down`), they fall back to polling.

export interface PushListener {
  message(text: string): void;
  /** Subscribed: every notification from now on arrives. */
  up(): void;
  /** The connection was lost: notifications may be missed until the next `up`. */
  down(): void;
}

export interface PushSubscription {
  close(): Promise<void>;
}

/**
 * Subscribes over TCP to the first of `urls` that answers, and on any failure moves to the next
 * one, for ever (until closed). On a Redis Cluster every node receives every PUBLISH (classic
 * pub/sub is broadcast over the cluster bus), so any node will do, and a failed node is simply
 * left for the next. A silent network failure is caught by a PING every LIVE_PUSH_PING_MS.
 */
export function tcpPushSubscription(urls: readonly string[], channel: string, listener: PushListener): PushSubscription {
  let closed = false;
  let attempt = 0;
  let current: { destroy(): void; isOpen: boolean } | undefined;
  let retry: NodeJS.Timeout | undefined;

  const connect = async () => {
    if (closed) return;
    const { createClient } = await import("redis");
    const url = urls[attempt++ % urls.length]!;
    // No reconnecting inside node-redis: a lost connection is replaced here, maybe by another node.
    const client = createClient({
      url,
      // Named, so an operator (or a test) can find it in CLIENT LIST.
      name: `handoff-live:${channel}`,
      RESP: 2,
      pingInterval: LIVE_PUSH_PING_MS,
      socket: { connectTimeout: LIVE_PUSH_RETRY_MS * 4, reconnectStrategy: false },
    });
    current = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (client.isOpen) client.destroy();
      if (closed) return;
      listener.down();
      retry = setTimeout(() => void connect(), LIVE_PUSH_RETRY_MS);
    };
    client.on("error", onLost);
    client.on("end", onLost);
    try {
      await client.connect();
      await client.subscribe(channel, (message) => listener.message(message));
      if (closed) return client.destroy();
      if (!lost) listener.up();
    } catch {
      onLost();
    }
  };
  void connect();

  return {
    close: async () => {
      closed = true;
      clearTimeout(retry);
      if (current?.isOpen) current.destroy();
    },
  };
}
