import { DeviceIcon } from "~/components/device-icon";
import { timeAgo } from "~/lib/time";

export interface PartyView {
  name: string;
  /** A token client chose this name itself: shown as its claim, not as a fact. */
  nameGivenByDevice?: boolean;
  browser: string | null;
  os: string | null;
  deviceType: string;
  ip: string;
  location: string;
}

/** Whether a server result marks its device name as chosen by the device (a token client). */
export function isNameGivenByDevice(...sources: unknown[]): boolean {
  return sources.some((s) => typeof s === "object" && s !== null && (s as { nameGivenByDevice?: unknown }).nameGivenByDevice === true);
}

/**
 * A device's name, isolated from the text around it (<bdi>: a right-to-left override inside it
 * cannot reorder the sentence), quoted and labelled when the device named itself.
 */
export function DeviceName({ name, givenByDevice }: { name: string; givenByDevice?: boolean }) {
  if (!givenByDevice) return <bdi>{name}</bdi>;
  return (
    <>
      “<bdi>{name}</bdi>”<span className="font-normal text-slate-500"> · named by the app</span>
    </>
  );
}

export interface Warning {
  code: string;
  message: string;
}

/** Who is on the other end of a handoff: device, network, place, and any warnings. */
export function PartyCard({ party, since, warnings, testId }: { party: PartyView; since?: Date; warnings?: Warning[]; testId?: string }) {
  return (
    <div className="space-y-3" data-testid={testId}>
      <div className="flex items-start gap-3 rounded-xl border border-slate-200 bg-slate-50 p-4">
        <span className="grid h-11 w-11 shrink-0 place-items-center rounded-xl bg-white text-brand-700 ring-1 ring-slate-200">
          <DeviceIcon type={party.deviceType} className="h-6 w-6" />
        </span>
        <dl className="min-w-0 text-sm">
          <dt className="sr-only">Device</dt>
          <dd className="font-semibold wrap-anywhere text-slate-900">
            <DeviceName name={party.name} givenByDevice={party.nameGivenByDevice} />
          </dd>
          <dt className="sr-only">Browser, system and type</dt>
          <dd className="text-slate-600">{[party.browser, party.os, party.deviceType].filter(Boolean).join(" · ")}</dd>
          <dt className="sr-only">Network and place</dt>
          <dd className="wrap-anywhere text-slate-600">
            {party.ip} · {party.location}
          </dd>
          {since && (
            <>
              <dt className="sr-only">Requested</dt>
              <dd className="text-slate-500">Requested {timeAgo(since)}</dd>
            </>
          )}
        </dl>
      </div>
      {warnings && warnings.length > 0 && (
        <ul className="space-y-1.5" aria-label="Warnings">
          {warnings.map((w) => (
            <li key={w.code} className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="handoff-warning">
              <span aria-hidden>⚠ </span>
              {w.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
