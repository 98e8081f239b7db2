// The better-auth peer (bench/peers): a Next.js app of its own, built and started by the bench only.
// It is built with webpack (`next build --webpack`): Turbopack takes the repository's lock file as
// its root and then also compiles Handoff's own src/instrumentation.ts and src/proxy.ts into this
// app, and with this folder as its root it cannot reach the repository's node_modules.

/** @type {import("next").NextConfig} */
export default {
  poweredByHeader: false,
  // Loaded from node_modules at run time, not bundled (as in Handoff's next.config.mjs).
  serverExternalPackages: ["@node-rs/argon2", "redis", "pg"],
};
