import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
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
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always", ...this.extraArgs];
    this.process = spawn("redis-server", args, { stdio: "ignore" });
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
