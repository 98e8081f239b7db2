"use client";

import { useRouter } from "next/navigation";
import { useEffect, useId, useRef, useState } from "react";

const HANDOFF_PATH = /^\/(handoff|continue)\/[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{32,128}$/;

/** The in-app path a scanned or pasted Handoff link points to, or null when it is not one. */
function handoffPath(text: string): string | null {
  try {
    const url = new URL(text.trim(), window.location.origin);
    return HANDOFF_PATH.test(url.pathname) ? url.pathname : null;
  } catch {
    return null;
  }
}

type ScannerState = "starting" | "scanning" | "denied" | "unavailable" | "found";

/** Scans QR codes with the rear camera in the browser (html5-qrcode), or takes a pasted link. */
export function QrScanner() {
  const router = useRouter();
  const regionId = `qr-region-${useId().replace(/[^a-zA-Z0-9]/g, "")}`;
  const [state, setState] = useState<ScannerState>("starting");
  const [message, setMessage] = useState<string | null>(null);
  const [link, setLink] = useState("");
  const found = useRef(false);

  useEffect(() => {
    let stopped = false;
    let scanner: import("html5-qrcode").Html5Qrcode | null = null;
    void (async () => {
      // Loaded on demand: the decoder is large and needs the browser.
      const { Html5Qrcode, Html5QrcodeSupportedFormats } = await import("html5-qrcode");
      if (stopped) return;
      scanner = new Html5Qrcode(regionId, { formatsToSupport: [Html5QrcodeSupportedFormats.QR_CODE], verbose: false });
      try {
        await scanner.start(
          { facingMode: "environment" },
          { fps: 10, qrbox: (w: number, h: number) => ({ width: Math.floor(Math.min(w, h) * 0.8), height: Math.floor(Math.min(w, h) * 0.8) }) },
          (decoded: string) => {
            if (found.current) return;
            const path = handoffPath(decoded);
            if (!path) {
              setMessage("That QR code is not a Handoff code.");
              return;
            }
            found.current = true;
            setState("found");
            void scanner?.stop().catch(() => undefined);
            router.push(path);
          },
          () => undefined,
        );
        if (stopped) await scanner.stop().catch(() => undefined);
        else setState("scanning");
      } catch (error) {
        const text = String((error as Error)?.message ?? error);
        setState(/NotAllowed|Permission/i.test(text) ? "denied" : "unavailable");
      }
    })();
    return () => {
      stopped = true;
      if (scanner?.isScanning) void scanner.stop().catch(() => undefined);
    };
  }, [regionId, router]);

  const submitLink = (e: React.FormEvent) => {
    e.preventDefault();
    const path = handoffPath(link);
    if (path) router.push(path);
    else setMessage("That link is not a Handoff link.");
  };

  return (
    <div className="space-y-4">
      <div className="relative mx-auto aspect-square w-full max-w-sm overflow-hidden rounded-2xl bg-slate-900 text-white">
        <div id={regionId} className="h-full w-full [&_video]:h-full [&_video]:w-full [&_video]:object-cover" data-testid="qr-region" />
        {state !== "scanning" && (
          <div className="absolute inset-0 grid place-items-center p-6 text-center text-sm" role="status">
            {state === "starting" && "Starting the camera…"}
            {state === "found" && "Code found. Opening…"}
            {state === "denied" && "Camera access was refused. Allow the camera for this site, or paste the link below."}
            {state === "unavailable" && "No camera could be started. Paste the link below instead."}
          </div>
        )}
      </div>
      <p className="text-center text-sm text-slate-600" aria-live="polite" data-testid="scanner-status">
        {state === "scanning" ? "Point your camera at the QR code on the other device." : ""}
      </p>
      {message && (
        <p role="alert" className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
          {message}
        </p>
      )}
      <form onSubmit={submitLink} className="flex gap-2">
        <label htmlFor={`${regionId}-link`} className="sr-only">
          Handoff link
        </label>
        <input
          id={`${regionId}-link`}
          value={link}
          onChange={(e) => setLink(e.target.value)}
          placeholder="…or paste the link the code stands for"
          inputMode="url"
          className="min-w-0 flex-1 rounded-lg border border-slate-300 px-3 py-2 text-sm focus:border-brand-500 focus:outline-none"
        />
        <button type="submit" className="rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-800 hover:bg-slate-50">
          Open
        </button>
      </form>
    </div>
  );
}
