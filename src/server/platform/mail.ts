import nodemailer, { type Transporter } from "nodemailer";
import type { Redis } from "@upstash/redis";
import { logger, maskEmail } from "~/server/platform/logger";

// Security email. With SMTP_URL, real mail through nodemailer. Without it (development and tests),
// each message goes to an outbox in Redis (the newest 50) that /dev/outbox shows. With
// MAIL_ENABLED=false nothing is sent. Production refuses to start without SMTP unless email is
// disabled explicitly (src/env.ts). Sending never holds up or fails the request that caused it.

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface OutboxEntry extends Mail {
  from: string;
  sentAt: string;
}

const OUTBOX_LENGTH = 50;

export class Mailer {
  private readonly transport: Transporter | null;
  private pending = new Set<Promise<void>>();

  constructor(private readonly options: { enabled: boolean; smtpUrl?: string; from: string; redis: Redis; prefix: string }) {
    this.transport = options.enabled && options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null;
  }

  get mode(): "smtp" | "outbox" | "disabled" {
    if (!this.options.enabled) return "disabled";
    return this.transport ? "smtp" : "outbox";
  }

  private get outboxKey() {
    return `${this.options.prefix}outbox`;
  }

  /** Queues the message and returns at once; failures are logged, never thrown. */
  send(mail: Mail): void {
    if (!this.options.enabled) return;
    const work = this.deliver(mail).catch((error: unknown) =>
      logger().error({ subject: mail.subject, to: maskEmail(mail.to), err: error }, "could not send an email"),
    );
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Waits for messages in flight (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  private async deliver(mail: Mail): Promise<void> {
    if (this.transport) {
      await this.transport.sendMail({ from: this.options.from, to: mail.to, subject: mail.subject, text: mail.text });
      return;
    }
    const entry: OutboxEntry = { ...mail, from: this.options.from, sentAt: new Date().toISOString() };
    await this.options.redis.lpush(this.outboxKey, JSON.stringify(entry));
    await this.options.redis.ltrim(this.outboxKey, 0, OUTBOX_LENGTH - 1);
  }

  /** The development outbox, newest first. */
  async outbox(): Promise<OutboxEntry[]> {
    const raw = await this.options.redis.lrange<OutboxEntry | string>(this.outboxKey, 0, -1);
    return raw.map((entry) => (typeof entry === "string" ? (JSON.parse(entry) as OutboxEntry) : entry));
  }
}
