"use client";

import { useState } from "react";
import { AuthForm } from "./auth-form";
import { PhoneSignIn } from "./handoff/phone-sign-in";

const TABS = [
  { id: "password", label: "Password" },
  { id: "phone", label: "With your phone" },
] as const;

/** Sign in with a password, or by scanning a QR with a phone that is already signed in. */
export function LoginTabs({ next }: { next: string }) {
  const [tab, setTab] = useState<(typeof TABS)[number]["id"]>("password");
  return (
    <div className="mt-6">
      <div role="tablist" aria-label="How to sign in" className="mb-4 grid grid-cols-2 rounded-xl bg-slate-200/70 p-1 text-sm font-medium">
        {TABS.map((t) => (
          <button
            key={t.id}
            role="tab"
            id={`tab-${t.id}`}
            type="button"
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            onClick={() => setTab(t.id)}
            className={`rounded-lg px-3 py-2 ${tab === t.id ? "bg-white text-slate-900 shadow-sm" : "text-slate-600 hover:text-slate-900"}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "password" ? (
          <AuthForm mode="login" next={next} />
        ) : (
          <div className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
            <PhoneSignIn next={next} />
          </div>
        )}
      </div>
    </div>
  );
}
