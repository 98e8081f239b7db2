"use client";

import { QRCodeSVG } from "qrcode.react";
import { useEffect, useState } from "react";

/** The QR of a handoff URL with a live countdown to its expiry. */
export function HandoffQr({ url, expiresAt, label }: { url: string; expiresAt: Date; label: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.round((expiresAt.getTime() - now) / 1000));
  return (
    <figure className="flex flex-col items-center gap-2">
      <div className="rounded-2xl bg-white p-3 shadow-sm ring-1 ring-slate-200" data-testid="handoff-qr">
        <QRCodeSVG value={url} size={232} level="M" marginSize={2} title={label} role="img" aria-label={label} />
      </div>
      <figcaption className="text-xs text-slate-500" aria-live="off">
        Valid for {Math.floor(seconds / 60)}:{String(seconds % 60).padStart(2, "0")}
      </figcaption>
    </figure>
  );
}
