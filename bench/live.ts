/**
 * Issue 19, goal 2: what open pages cost Redis while nothing happens. Many idle dashboards
 * (sessions.onEvent subscriptions over SSE) on one instance, first with live push (the instance's
 * one pub/sub reader, LIVE_PUSH=true, the default) and then with LIVE_PUSH=false (every page polls
 * every LIVE_POLL_MS, as before the hub). The servers use a Redis of their own, started here, so
 * INFO commandstats counts their commands and nothing else. Also: the server's memory per 1,000
 * open subscriptions, and revoke -> that page's notice while all the others are open.
 */
import { createClient } from "redis";
import { RedisServer } from "~/test/redis-server";
import { browser, firstEvent, PASSWORD, percentile, startServer, type Browser, type Server } from "./lib";

interface LiveBenchOptions {
  say: (line?: string) => void;
  smoke: boolean;
  seconds: number;
  databaseUrl: string;
  /** Two ports from here are used (push, poll). */
  port: number;
  env: Record<string, string>;
}

/** Every command Redis has run so far (INFO commandstats, summed): PING and SUBSCRIBE too, and earlier INFO calls. */
async function commandsRun(admin: ReturnType<typeof createClient>): Promise<number> {
  const info = await admin.info("commandstats");
  return [...info.matchAll(/calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Opens `tabs` dashboards (sessions.onEvent) for each browser; resolves once every stream has started. */
async function openDashboards(browsers: Browser[], tabs: number) {
  const subscriptions: { unsubscribe(): void }[] = [];
  let started = 0;
  const total = browsers.length * tabs;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${started} of ${total} streams started`)), 120_000);
    for (const b of browsers)
      for (let i = 0; i < tabs; i++)
        subscriptions.push(
          b.api.sessions.onEvent.subscribe(undefined, {
            onStarted: () => {
              if (++started === total) {
                clearTimeout(timer);
                resolve();
              }
            },
            onData: () => undefined,
            onError: () => undefined,
          }),
        );
  });
  return { count: total, close: () => subscriptions.forEach((s) => s.unsubscribe()) };
}

export async function liveUpdates(options: LiveBenchOptions) {
  const { say, smoke, seconds } = options;
  const users = smoke ? 2 : 20;
  const sessionsPerUser = smoke ? 5 : 10;
  const tabs = 5;
  const revokes = Math.min(users, smoke ? 2 : 20);
  // A Redis of its own (a free port, gone with the bench), so INFO commandstats counts only these servers.
  const redis = await RedisServer.start(["--appendonly", "no"]);
  const admin = createClient({ url: redis.url, RESP: 2 });
  const env = { ...options.env, REDIS_URL: redis.url, REDIS_PREFIX: `handoff-bench-live:${Date.now()}:` };
  let push: Server | undefined;
  let poll: Server | undefined;
  try {
    await admin.connect();
    push = await startServer(options.port, options.databaseUrl, { ...env, LIVE_PUSH: "true" });
    poll = await startServer(options.port + 1, options.databaseUrl, { ...env, LIVE_PUSH: "false" });
    say(`## 7. Live updates: idle open dashboards (issue 19, goal 2)`);
    say();

    // Sessions signed in on the push server; the same cookies work on the other (same secret, database and Redis).
    const accounts = Array.from({ length: users }, (_, i) => ({ email: `live-${Date.now()}-${i}@example.com`, user: i }));
    const sessions: { browser: (base: string) => Browser; user: number }[] = [];
    await pool(accounts, 4, async (account) => {
      for (let s = 0; s < sessionsPerUser; s++) {
        const b = browser(push!.base, `Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 bench-live-${s}`);
        if (s === 0) await b.api.auth.register.mutate({ email: account.email, password: PASSWORD });
        else await b.api.auth.login.mutate({ email: account.email, password: PASSWORD });
        const cookies = [...b.jar];
        sessions.push({
          user: account.user,
          browser: (base) => {
            const other = browser(base);
            for (const [k, v] of cookies) other.jar.set(k, v);
            return other;
          },
        });
      }
    });

    const measure = async (server: Server) => {
      const browsers = sessions.map((s) => s.browser(server.base));
      await browsers[0]!.api.auth.me.query(); // the server has served a page
      const rssBefore = server.rssBytes();
      const open = await openDashboards(browsers, tabs);
      // Let every page finish its first reads (and the hub its catch-up read).
      await new Promise((r) => setTimeout(r, 3_000));
      const rssAfter = server.rssBytes();
      const before = await commandsRun(admin);
      const started = performance.now();
      await new Promise((r) => setTimeout(r, seconds * 1_000));
      const after = await commandsRun(admin);
      // Less the first INFO itself.
      const perSecond = (after - before - 1) / ((performance.now() - started) / 1_000);
      return { browsers, open, perSecond, rssPerThousand: ((rssAfter - rssBefore) / open.count) * 1_000 };
    };

    // Polling first: the revocations below end some of the sessions.
    const polled = await measure(poll);
    polled.open.close();
    await new Promise((r) => setTimeout(r, 1_000));

    const pushed = await measure(push);
    // Revoke one session at a time while every other page stays open: time to that page's notice.
    const notices: number[] = [];
    for (let i = 0; i < revokes; i++) {
      // Two sessions of one user (sign-ins ran concurrently: sessions are not in user order).
      const [admin, target] = pushed.browsers.filter((_, at) => sessions[at]!.user === i);
      const me = await target!.api.auth.me.query();
      const notice = firstEvent<{ type: string; sessionIds?: string[] }>(
        (h) => target!.api.sessions.onEvent.subscribe(undefined, h),
        (e) => e.type === "revoked" && !!e.sessionIds?.includes(me.session.id),
      );
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      await admin!.api.sessions.revoke.mutate({ sessionId: me.session.id });
      notices.push((await notice.at) - t0);
      notice.stop();
    }
    pushed.open.close();

    const count = pushed.open.count;
    say(
      `${count.toLocaleString("en")} open dashboards (${users} users x ${sessionsPerUser} sessions x ${tabs} tabs), idle, on one instance; Redis commands counted by Redis itself (a Redis of the bench's own) over ${seconds} s.`,
    );
    say();
    say(`| measure | LIVE_PUSH=true (default) | LIVE_PUSH=false (polling, as before) | goal |`);
    say(`| --- | --- | --- | --- |`);
    say(`| Redis commands/s, ${count} idle dashboards | **${pushed.perSecond.toFixed(1)}** | ${polled.perSecond.toFixed(0)} | ≤ 20 (from ~2,000) |`);
    say(
      `| server RSS per 1,000 open subscriptions | ${(pushed.rssPerThousand / 2 ** 20).toFixed(1)} MiB | ${(polled.rssPerThousand / 2 ** 20).toFixed(1)} MiB | report |`,
    );
    say(
      `| revoke -> that page's notice, others open (p50 / p95 / max, ${revokes} runs) | ${percentile(notices, 50).toFixed(0)} / ${percentile(notices, 95).toFixed(0)} / ${Math.max(...notices).toFixed(0)} ms | | p95 < 1 s |`,
    );
    say();
    return {
      dashboards: count,
      push: { commandsPerSecond: pushed.perSecond, rssPerThousand: pushed.rssPerThousand, notices },
      poll: { commandsPerSecond: polled.perSecond, rssPerThousand: polled.rssPerThousand },
    };
  } finally {
    await push?.stop();
    await poll?.stop();
    if (admin.isOpen) admin.destroy();
    await redis.stop();
  }
}
