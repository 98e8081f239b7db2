import type { Metadata, Viewport } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { TRPCReactProvider } from "~/trpc/react";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Handoff", template: "%s · Handoff" },
  description: "Sign in, see every device, and move your session between them.",
  icons: { icon: "/favicon.svg" },
};

export const viewport: Viewport = { width: "device-width", initialScale: 1, themeColor: "#2553e8" };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Rendered per request: every page needs this request's CSP nonce on its scripts (src/proxy.ts).
  await connection();
  return (
    <html lang="en">
      <body>
        <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-4 focus:top-4 focus:rounded focus:bg-white focus:px-3 focus:py-2">
          Skip to content
        </a>
        <header className="border-b border-slate-200 bg-white">
          <div className="mx-auto flex h-14 max-w-5xl items-center px-4">
            <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight text-slate-900">
              <span aria-hidden className="grid h-7 w-7 place-items-center rounded-lg bg-brand-600 text-sm text-white">
                ⇄
              </span>
              Handoff
            </Link>
          </div>
        </header>
        <TRPCReactProvider>
          <main id="main" className="mx-auto max-w-5xl px-4 py-8 sm:py-12">
            {children}
          </main>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
