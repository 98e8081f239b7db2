import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

// Below Linux's ephemeral range (32768-60999 by default). A port from that range (what listen(0)
// hands out) can be taken while the server is down by an outgoing connection's local port,
// including the app's own reconnect attempts, which then connect to themselves (TCP self-connect)
// and keep the restarted server from binding it.
const PORTS = { from: 20_000, to: 32_000 };

/** A loopback port nothing listens on, outside the ephemeral range (so it stays free across restarts). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = PORTS.from + Math.floor(Math.random() * (PORTS.to - PORTS.from));
    const server = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  throw new Error("no free loopback port found for redis-server");
}

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(500);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      resolve(data.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * A redis-server of a test's own on a loopback port, so the test can kill it without disturbing
 * anyone else's. Every write is fsynced to an append-only file: a killed and restarted server has
 * the same data, as a production Redis with persistence would.
 */
export class RedisServer {
  private process: ChildProcess | null = null;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  /** extraArgs: more redis-server options, e.g. ["--busy-reply-threshold", "100"]. */
  static async start(extraArgs: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), "handoff-redis-")), extraArgs);
    await server.restart();
    return server;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart() {
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      ...this.extraArgs,
    ];
    const child = spawn("redis-server", args, { stdio: "ignore" });
    // Never outlive the test process, even when a test times out before its cleanup.
    const reap = () => child.kill("SIGKILL");
    process.once("exit", reap);
    child.once("exit", () => process.removeListener("exit", reap));
    this.process = child;
    for (let i = 0; i < 100 && !(await answersPing(this.port)); i++) await new Promise((r) => setTimeout(r, 50));
    if (!(await answersPing(this.port))) throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** SIGKILL: Redis dies at once, mid-command, as in a crash or an OOM kill. */
  async kill() {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.process = null;
  }

  async stop() {
    await this.kill();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
