"use client";

import { useId, useRef, useState } from "react";
import { AuthForm } from "./auth-form";
import { PhoneSignIn } from "./handoff/phone-sign-in";

const TABS = [
  { id: "password", label: "Password" },
  { id: "phone", label: "With your phone" },
] as const;

type TabId = (typeof TABS)[number]["id"];

/**
 * Sign in with a password, or by scanning a QR with a phone that is already signed in.
 * WAI-ARIA tabs: only the selected tab is in the tab order; Left/Right (wrapping), Home and End
 * move between tabs and select them. Only the selected panel is rendered (the phone panel starts a
 * QR code), but both panels exist so every aria-controls points at an element.
 */
export function LoginTabs({ next, initialError }: { next: string; initialError?: string }) {
  const base = useId();
  const [tab, setTab] = useState<TabId>("password");
  const buttons = useRef<Partial<Record<TabId, HTMLButtonElement | null>>>({});
  const tabId = (id: TabId) => `${base}-tab-${id}`;
  const panelId = (id: TabId) => `${base}-panel-${id}`;

  const select = (id: TabId) => {
    setTab(id);
    buttons.current[id]?.focus();
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    const at = TABS.findIndex((t) => t.id === tab);
    const target = { ArrowRight: (at + 1) % TABS.length, ArrowLeft: (at - 1 + TABS.length) % TABS.length, Home: 0, End: TABS.length - 1 }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    select(TABS[target]!.id);
  };

  return (
    <div className="mt-6">
      <div
        role="tablist"
        aria-label="How to sign in"
        onKeyDown={onKeyDown}
        className="mb-4 grid grid-cols-2 rounded-xl bg-slate-200/70 p-1 text-sm font-medium"
      >
        {TABS.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              buttons.current[t.id] = el;
            }}
            role="tab"
            id={tabId(t.id)}
            type="button"
            aria-selected={tab === t.id}
            aria-controls={panelId(t.id)}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
            className={`rounded-lg px-3 py-2 ${tab === t.id ? "bg-white text-slate-900 shadow-sm" : "text-slate-600 hover:text-slate-900"}`}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={panelId("password")} aria-labelledby={tabId("password")} hidden={tab !== "password"}>
        {tab === "password" && <AuthForm mode="login" next={next} initialError={initialError} />}
      </div>
      {/* Its first content is not focusable: the panel itself takes focus after the tab. */}
      <div role="tabpanel" id={panelId("phone")} aria-labelledby={tabId("phone")} hidden={tab !== "phone"} tabIndex={0} className="rounded-2xl">
        {tab === "phone" && (
          <div className="rounded-2xl border border-slate-200 bg-white p-5 shadow-sm sm:p-6">
            <PhoneSignIn next={next} />
          </div>
        )}
      </div>
    </div>
  );
}
