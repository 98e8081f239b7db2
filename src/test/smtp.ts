import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { resetLinksSent } from "~/server/account/password-reset";
import type { Mailer } from "~/server/platform/mail";

export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
}

/** A real SMTP server (smtp-server) on a free port that keeps what it receives, with helpers to wait for a mail. */
export async function startSmtp() {
  const inbox: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          inbox.push({ to: session.envelope.rcptTo.map((r) => r.address).join(","), subject: mail.subject ?? "", text: mail.text ?? "" });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    inbox,
    url: `smtp://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    /** Every mail to `to` so far (after the mailer's queue drained). */
    async mailsTo(mailer: Mailer, to: string): Promise<ReceivedMail[]> {
      await resetLinksSent(); // issued after their request was answered
      await mailer.flush();
      return inbox.filter((m) => m.to === to);
    },
    /** The newest mail to `to` whose subject matches, waiting up to 2.5 s for it. */
    async mailTo(mailer: Mailer, to: string, subject: RegExp): Promise<ReceivedMail> {
      await resetLinksSent(); // issued after their request was answered
      await mailer.flush();
      for (let i = 0; i < 50; i++) {
        const found = inbox.filter((m) => m.to === to && subject.test(m.subject)).at(-1);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no mail "${subject}" to ${to}; got ${JSON.stringify(inbox.filter((m) => m.to === to).map((m) => m.subject))}`);
    },
  };
}

/** The token of the first `/<path>/<token>` link in a mail. */
export function linkToken(mail: ReceivedMail, path: "reset" | "verify"): string {
  const match = new RegExp(`https?://\\S+/${path}/([A-Za-z0-9_-]+)`).exec(mail.text);
  if (!match) throw new Error(`no /${path}/ link in: ${mail.text}`);
  return match[1]!;
}
