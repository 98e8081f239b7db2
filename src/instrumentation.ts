export async function register() {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    // Not while `next build` prerenders: production secrets need not exist at build time.
    if (process.env.NEXT_PHASE !== "phase-production-build") {
      const { exitOnBadConfiguration } = await import("~/server/platform/startup-check");
      exitOnBadConfiguration();
      // SIGTERM drains requests, ends event streams, closes Redis and PostgreSQL, exits 0.
      const { env } = await import("~/env");
      const { policyFrom } = await import("~/server/policy");
      const { installGracefulShutdown } = await import("~/server/platform/shutdown");
      installGracefulShutdown(policyFrom(env()).shutdownTimeoutMs);
    }
    const { stampPeerAddress } = await import("~/server/platform/peer-address");
    stampPeerAddress();
    const { startEventLoopMonitor } = await import("~/server/platform/metrics");
    startEventLoopMonitor();
    if (process.env.NEXT_PHASE !== "phase-production-build") {
      const [{ startRetentionSchedule }, { getServices }] = await Promise.all([import("~/server/security/retention"), import("~/server/services")]);
      startRetentionSchedule(getServices);
    }
  }
}
