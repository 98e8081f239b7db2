#!/usr/bin/env node
// Prisma's CLI spawns a native "schema engine" binary for `migrate`/`db` commands and downloads it
// from Prisma's servers on first use. Offline (and for users behind strict egress) that fails.
// This script is a drop-in for that binary: it speaks the same command line and newline-delimited
// JSON-RPC on stdin/stdout, and forwards every call to Prisma's own WASM build of the same engine
// (@prisma/schema-engine-wasm) running over a driver adapter:
//   postgres:// or postgresql://  -> @prisma/adapter-pg
//   pglite:<directory>            -> in-process PGlite (the embedded default database)
// .config/prisma.ts points PRISMA_SCHEMA_ENGINE_BINARY here unless the user set it.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const wasmPackageDir = path.dirname(require.resolve("@prisma/schema-engine-wasm"));

function parseArgs(argv) {
  const args = { datamodels: [], datasource: null, version: false, cli: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--datamodels") args.datamodels.push(argv[++i]);
    else if (a === "--datasource") args.datasource = JSON.parse(argv[++i]);
    else if (a === "--version" || a === "-V") args.version = true;
    else if (a === "--enabled-preview-features" || a === "--extension-types") i++;
    else if (a === "cli") args.cli = argv[++i];
  }
  return args;
}

function enginesCommit() {
  const wasmVersion = JSON.parse(fs.readFileSync(path.join(wasmPackageDir, "package.json"), "utf8")).version;
  const expected = require("@prisma/engines-version").enginesVersion;
  const commit = wasmVersion.split(".").pop();
  if (!wasmVersion.endsWith(expected)) {
    fail(`@prisma/schema-engine-wasm ${wasmVersion} does not match prisma's engines ${expected}: ` + "install the matching version (see package.json).");
  }
  return commit;
}

/** Errors on stderr in the shape the CLI parses: the first line is skipped, then JSON log lines. */
function fail(message, errorCode) {
  process.stderr.write("schema-engine error\n");
  process.stderr.write(
    JSON.stringify({
      timestamp: new Date().toISOString(),
      level: "ERROR",
      target: "schema_engine::logger",
      fields: { message, ...(errorCode ? { error_code: errorCode } : {}) },
    }) + "\n",
  );
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Driver adapters, with the fixes the engine needs on top of the published adapters.

function reportCharColumnsAsText(pg) {
  const handleRowDescription = pg.Query.prototype.handleRowDescription;
  pg.Query.prototype.handleRowDescription = function (message) {
    for (const field of message.fields) if (field.dataTypeID === 18) field.dataTypeID = 25;
    return handleRowDescription.call(this, message);
  };
}

async function pgFactory(url) {
  const pg = require("pg");
  const adapterPg = await import("@prisma/adapter-pg");
  reportCharColumnsAsText(pg);
  const factory = new adapterPg.PrismaPg({ connectionString: url });
  // adapter-pg splits scripts on ";", which breaks $$-quoted bodies: send a script as one
  // simple-protocol query instead, as the native engine does.
  const wrapAdapter = (adapter) => {
    adapter.executeScript = async function executeScript(script) {
      try {
        await this.client.query(script);
      } catch (error) {
        this.onError(error);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrapAdapter(await factory.connect()),
    connectToShadowDb: async () => wrapAdapter(await factory.connectToShadowDb()),
  };
}

async function pgliteFactory(url) {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PrismaPGlite } = await import("pglite-prisma-adapter");
  const dataDir = url.slice("pglite:".length).replace(/^\/\/(?=\/)/, "") || "memory://";
  if (!dataDir.startsWith("memory://")) fs.mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  await client.waitReady;
  const factory = new PrismaPGlite(client);
  // pglite-prisma-adapter 0.7.2 does not await exec() in executeScript, so a failing migration
  // would be recorded as applied. Await it and surface the error.
  const wrapAdapter = (adapter) => {
    adapter.executeScript = async function executeScript(script) {
      try {
        await this.client.exec(script);
      } catch (error) {
        this.onError(error);
      }
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => wrapAdapter(await factory.connect()),
    connectToShadowDb: async () => wrapAdapter(await factory.connectToShadowDb()),
    close: () => client.close(),
  };
}

function adapterFactoryFor(url) {
  if (/^postgres(ql)?:\/\//.test(url)) return pgFactory(url);
  if (url.startsWith("pglite:")) return pgliteFactory(url);
  fail(`Unsupported datasource URL for the WASM schema engine: ${url.split(":")[0]}:...`, "P1013");
}

// ---------------------------------------------------------------------------------------------
// `cli can-connect-to-database` / `cli create-database`

function splitDatabase(url) {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres";
  const admin = new URL(url);
  admin.pathname = "/postgres";
  return { database, adminUrl: admin.toString() };
}

async function withPgClient(url, fn) {
  const pg = require("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function runCliCommand(command, url) {
  if (url.startsWith("pglite:")) {
    // A PGlite directory is created on first open: it always "exists".
    const factory = await pgliteFactory(url);
    await factory.close();
    return;
  }
  if (command === "can-connect-to-database") {
    try {
      await withPgClient(url, (c) => c.query("SELECT 1"));
    } catch (error) {
      const { database } = splitDatabase(url);
      if (error.code === "3D000") fail(`Database \`${database}\` does not exist`, "P1003");
      fail(`Can't reach database server: ${error.message}`, "P1001");
    }
    return;
  }
  if (command === "create-database") {
    const { database, adminUrl } = splitDatabase(url);
    try {
      await withPgClient(adminUrl, (c) => c.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`));
    } catch (error) {
      if (error.code !== "42P04") fail(`Could not create database: ${error.message}`, "P1000");
    }
    return;
  }
  fail(`Unknown schema engine cli command: ${command}`);
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC server

// The WASM engine reports a Rust panic's message here before trapping.
let lastPanicMessage = null;
globalThis.PRISMA_WASM_PANIC_REGISTRY = {
  set_message(message) {
    lastPanicMessage = message;
  },
};

async function loadEngine(datamodels, factory) {
  const bg = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const wasmPath = path.join(wasmPackageDir, "schema_engine_bg.wasm");
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath), {
    "./schema_engine_bg.js": bg,
  });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  const { bindMigrationAwareSqlAdapterFactory } = await import("@prisma/driver-adapter-utils");
  const log = process.env.PRISMA_SCHEMA_ENGINE_DEBUG ? (line) => process.stderr.write(`${line}\n`) : () => {};
  return bg.SchemaEngine.new(
    { datamodels: datamodels.length ? datamodels.map((file) => [file, fs.readFileSync(file, "utf8")]) : undefined },
    log,
    bindMigrationAwareSqlAdapterFactory(factory),
  );
}

function toRpcError(error) {
  if (lastPanicMessage) {
    const message = lastPanicMessage;
    lastPanicMessage = null;
    return { code: 4466, message: "The schema engine panicked.", data: { is_panic: true, message, error: { message } } };
  }
  // The WASM engine rejects with a JS value carrying the same fields the native engine puts in
  // `error.data` (message, error_code, meta, is_panic).
  const data =
    error && typeof error === "object" && !(error instanceof Error)
      ? { is_panic: false, ...error }
      : { is_panic: false, message: String(error?.message ?? error) };
  if (typeof data.message !== "string") data.message = JSON.stringify(error);
  return { code: 4466, message: "An error happened. Check the data field for details.", data };
}

async function serve(args) {
  const url = args.datasource?.url;
  if (!url) fail("No datasource URL was given to the schema engine.", "P1012");
  const factory = await adapterFactoryFor(url);
  const engine = await loadEngine(args.datamodels, factory);

  let nextOutgoingId = 1_000_000;
  const pendingOutgoing = new Map();
  const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
  const requestFromCli = (method, params) =>
    new Promise((resolve) => {
      const id = nextOutgoingId++;
      pendingOutgoing.set(id, resolve);
      send({ jsonrpc: "2.0", id, method, params });
    });

  const handlers = {
    getDatabaseVersion: (p) => engine.version(p ?? null),
    version: (p) => engine.version(p ?? null),
    createDatabase: async () => {
      await runCliCommand("create-database", url);
      return { databaseName: splitDatabase(url).database };
    },
    createMigration: async (p) => {
      // Without a prior history diagnosis the WASM engine asks for an external shadow database.
      await engine.diagnoseMigrationHistory({ migrationsList: p.migrationsList, filters: p.filters, optInToShadowDatabase: true });
      return engine.createMigration(p);
    },
    evaluateDataLoss: async (p) => {
      await engine.diagnoseMigrationHistory({ migrationsList: p.migrationsList, filters: p.filters, optInToShadowDatabase: true });
      return engine.evaluateDataLoss(p);
    },
    diff: async (p) => {
      const result = await engine.diff(p);
      if (result.stdout) await requestFromCli("print", { content: result.stdout.replace(/\n$/, "") });
      return { exitCode: result.exitCode };
    },
  };
  for (const method of [
    "applyMigrations",
    "dbExecute",
    "devDiagnostic",
    "diagnoseMigrationHistory",
    "ensureConnectionValidity",
    "introspect",
    "introspectSql",
    "markMigrationApplied",
    "markMigrationRolledBack",
    "reset",
    "schemaPush",
    "debugPanic",
  ]) {
    handlers[method] ??= (p) => engine[method](p);
  }

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let queue = Promise.resolve();
  rl.on("line", (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (message.method === undefined && pendingOutgoing.has(message.id)) {
      pendingOutgoing.get(message.id)(message.result);
      pendingOutgoing.delete(message.id);
      return;
    }
    // The engine handles one command at a time, like the native binary.
    queue = queue.then(async () => {
      const handler = handlers[message.method];
      if (!handler) {
        send({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: `Method not found: ${message.method}` } });
        return;
      }
      try {
        const result = await handler(message.params ?? {});
        send({ jsonrpc: "2.0", id: message.id, result: result === undefined ? null : result });
      } catch (error) {
        send({ jsonrpc: "2.0", id: message.id, error: toRpcError(error) });
      }
    });
  });
  rl.on("close", async () => {
    await queue;
    await factory.close?.();
    process.exit(0);
  });
}

process.on("uncaughtException", (error) => {
  const message = lastPanicMessage ?? String(error?.stack ?? error);
  fail(lastPanicMessage ? `Schema engine panicked: ${message}` : message);
});

const args = parseArgs(process.argv.slice(2));
const commit = enginesCommit();
if (args.version) {
  process.stdout.write(`schema-engine-cli ${commit}\n`);
} else if (args.cli) {
  const url = args.datasource?.url;
  if (!url) fail("No datasource URL was given to the schema engine.", "P1012");
  runCliCommand(args.cli, url).then(
    () => process.exit(0),
    (error) => fail(String(error?.message ?? error)),
  );
} else {
  serve(args).catch((error) => fail(String(error?.stack ?? error)));
}
