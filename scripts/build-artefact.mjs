#!/usr/bin/env node
// Completes the release artefact after `next build` (which `npm run build` runs first): Next.js
// writes .next/standalone (server.js, the compiled app and only the node_modules files it uses)
// but leaves out what a CDN would normally serve (public/, .next/static) and knows nothing of the
// migrations. Copied in here, so that the folder alone runs the app:
//   node server.js                      (PORT, HOSTNAME and the app's variables from the environment)
//   node scripts/migrate.mjs            (or `npm run db:migrate` there): applies prisma/migrations
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, ".next", "standalone");
if (!fs.existsSync(path.join(out, "server.js"))) {
  console.error(`No ${path.relative(root, out)}/server.js: run \`next build\` first (with output: "standalone" in next.config.mjs).`);
  process.exit(1);
}

const copy = (from, to) => {
  const source = path.join(root, from);
  const target = path.join(out, to ?? from);
  if (!fs.existsSync(source)) return;
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(source, target, { recursive: true });
};

copy("public");
copy(".next/static");
copy("prisma/migrations");
copy("scripts/migrate.mjs");
// Next.js copies .env files next to server.js; an artefact must not carry a developer's secrets.
for (const name of fs.readdirSync(out)) if (name === ".env" || name.startsWith(".env.")) fs.rmSync(path.join(out, name));

console.log(`Release artefact: ${path.relative(process.cwd(), out) || "."} (copy this folder; run \`node scripts/migrate.mjs\`, then \`node server.js\`)`);
