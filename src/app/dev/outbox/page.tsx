import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { env } from "~/env";
import { getServices } from "~/server/services";

export const metadata: Metadata = { title: "Outbox (development)" };

// Development only: the security email that would have been sent, when no SMTP_URL is set.
export default async function OutboxPage() {
  if (env().NODE_ENV === "production") notFound();
  const { mailer } = await getServices();
  const mails = await mailer.outbox();
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">Outbox</h1>
        <p className="mt-1 text-sm text-slate-600">
          {mailer.mode === "outbox"
            ? "Development mode without SMTP_URL: security email lands here instead of being sent (newest first, the last 50)."
            : mailer.mode === "smtp"
              ? "SMTP_URL is set: email is sent for real, nothing is kept here."
              : "Email is disabled (MAIL_ENABLED=false)."}
        </p>
      </div>
      {mails.length === 0 && <p className="text-sm text-slate-500">No email yet.</p>}
      <ul className="space-y-4">
        {mails.map((mail, i) => (
          <li key={`${mail.sentAt}-${i}`} className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="outbox-mail">
            <p className="text-xs text-slate-500">
              {new Date(mail.sentAt).toUTCString()} · to {mail.to} · from {mail.from}
            </p>
            <h2 className="mt-1 text-base font-semibold text-slate-900">{mail.subject}</h2>
            <pre className="mt-3 text-sm whitespace-pre-wrap text-slate-700">{mail.text}</pre>
          </li>
        ))}
      </ul>
    </div>
  );
}
