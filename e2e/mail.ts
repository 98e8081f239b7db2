import fs from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

// Email in the browser tests: e2e/serve.ts points the default server's SMTP_URL at a real SMTP
// server (smtp-server) that appends every message to a file named after the app's port; specs
// read it with `mailTo`.

export interface SentMail {
  to: string;
  subject: string;
  text: string;
}

const inboxFile = (appPort: number) => path.join(os.tmpdir(), `handoff-e2e-mail-${appPort}.jsonl`);

/** Starts the sink (in e2e/serve.ts): returns its smtp:// URL. */
export async function startMailSink(appPort: number) {
  const file = inboxFile(appPort);
  fs.writeFileSync(file, "");
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const entry: SentMail = { to: session.envelope.rcptTo.map((r) => r.address).join(","), subject: mail.subject ?? "", text: mail.text ?? "" };
          fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}` };
}

/** The newest mail to `to` whose subject matches, waiting up to 10 s for it. */
export async function mailTo(to: string, subject: RegExp, appPort = Number(process.env.E2E_PORT ?? 3100)): Promise<SentMail> {
  const file = inboxFile(appPort);
  for (let i = 0; i < 100; i++) {
    const mails = fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as SentMail);
    const found = mails.filter((m) => m.to === to && subject.test(m.subject)).at(-1);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail "${subject}" to ${to}`);
}

/** The path (`/reset/<token>`, `/verify/<token>`) of the first such link in a mail. */
export function linkPath(mail: SentMail, kind: "reset" | "verify"): string {
  const match = new RegExp(`https?://[^/\\s]+(/${kind}/[A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match) throw new Error(`no /${kind}/ link in: ${mail.text}`);
  return match[1]!;
}
