// Reading `data.reason` back, shared by the in-process tests and the black-box suite against the
// production server (e2e/production-api.spec.ts). Plain functions only: the Playwright side must not
// import server code, so it takes the catalogue from the README's "Error reasons" table (a vitest
// test, src/server/platform/errors.test.ts, keeps that table equal to ERROR_REASONS).

export interface DocumentedReason {
  reason: string;
  /** The tRPC codes (and HTTP statuses) the table gives for it. */
  codes: string[];
  meaning: string;
}

/** The rows of the README's "Error reasons" table, in order. */
export function documentedReasons(readme: string): DocumentedReason[] {
  const lines = readme.split("\n");
  const heading = lines.findIndex((line) => /^#{2,5} Error reasons\s*$/.test(line));
  if (heading < 0) throw new Error('README.md has no "Error reasons" heading');
  const rows: DocumentedReason[] = [];
  let inTable = false;
  for (const line of lines.slice(heading + 1)) {
    if (!line.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .slice(1, line.lastIndexOf("|"))
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    const reason = /^`([a-z_]+)`$/.exec(cells[0] ?? "")?.[1];
    if (!reason) continue; // the header and its --- line
    rows.push({ reason, codes: [...(cells[1] ?? "").matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]!), meaning: cells[2] ?? "" });
  }
  return rows;
}

export interface ErrorAnswer {
  message?: string;
  code?: string;
  httpStatus?: number;
  reason?: unknown;
}

interface Envelope {
  error?: { json?: { message?: string; data?: { code?: string; httpStatus?: number; reason?: unknown } } };
}

/**
 * Every error in a tRPC answer body: one answer, a batch (an array of answers), or, for a
 * subscription, the `serialized-error` events of its event stream. Each is `{ message, code,
 * httpStatus, reason }` from `error.json` (superjson's envelope).
 */
export function errorsIn(body: string, contentType: string | null): ErrorAnswer[] {
  const fromJson = (json: { message?: string; data?: { code?: string; httpStatus?: number; reason?: unknown } } | undefined): ErrorAnswer => ({
    message: json?.message,
    code: json?.data?.code,
    httpStatus: json?.data?.httpStatus,
    reason: json?.data?.reason,
  });
  if (contentType?.includes("text/event-stream")) {
    const errors: ErrorAnswer[] = [];
    for (const block of body.split("\n\n")) {
      const lines = block.split("\n");
      if (!lines.includes("event: serialized-error")) continue;
      const data = lines.find((line) => line.startsWith("data:"));
      if (data) errors.push(fromJson((JSON.parse(data.slice(5)) as { json?: Parameters<typeof fromJson>[0] }).json));
    }
    return errors;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON at all: an error answer that no client could read a reason from.
    return [{ message: body.slice(0, 200) }];
  }
  const items = (Array.isArray(parsed) ? parsed : [parsed]) as Envelope[];
  return items.filter((item) => item && typeof item === "object" && "error" in item).map((item) => fromJson(item.error?.json));
}

/** Reads a response's event stream until its first event after `connected`, or `ms` passes; the text read. */
export async function firstEventsOf(res: Response, ms: number): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms));
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), timeout]);
      if (read === "timeout" || read.done) return text;
      text += decoder.decode(read.value, { stream: true });
      const blocks = text.split("\n\n").slice(0, -1);
      if (blocks.some((block) => /^data:/m.test(block) && !block.includes("event: connected"))) return text;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
