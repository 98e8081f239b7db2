/** @type {import("next").NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Native and WASM packages are loaded from node_modules at run time, not bundled.
  serverExternalPackages: ["@node-rs/argon2", "@electric-sql/pglite", "pglite-prisma-adapter", "ioredis-mock", "redis", "pg", "@prisma/adapter-pg"],
  typedRoutes: false,
};

export default nextConfig;
