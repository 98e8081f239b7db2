// A cookie-keeping client for the running app's /api/trpc over real HTTP (Node's fetch), speaking
// tRPC's wire format. Not Playwright's APIRequestContext: subscriptions stream until aborted.

export const USER_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

export interface ApiResult<T = unknown> {
  status: number;
  data?: T;
  error?: { message: string; data: { code: string; httpStatus: number; reason?: string; retryAfter?: number } };
}

export class ApiClient {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly baseURL: string,
    readonly headers: Record<string, string> = {},
  ) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async raw(
    path: string,
    init: { method?: string; body?: BodyInit; query?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const cookie = this.cookieHeader();
    const res = await fetch(`${this.baseURL}/api/trpc/${path}${init.query ? `?${init.query}` : ""}`, {
      method: init.method ?? "GET",
      headers: {
        origin: this.baseURL,
        "user-agent": USER_AGENT,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...(cookie ? { cookie } : {}),
        ...this.headers,
        ...init.headers,
      },
      body: init.body,
      signal: init.signal,
      redirect: "manual",
      ...(init.body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === "" || attributes.some((a) => /max-age=0$/i.test(a.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  private static async parse<T>(res: Response): Promise<ApiResult<T>> {
    const body = (await res.json()) as { result?: { data: { json: T } }; error?: { json: ApiResult["error"] } };
    return body.error ? { status: res.status, error: body.error.json } : { status: res.status, data: body.result!.data.json };
  }

  async mutation<T = unknown>(path: string, input: unknown = {}): Promise<ApiResult<T>> {
    return ApiClient.parse<T>(await this.raw(path, { method: "POST", body: JSON.stringify({ json: input }) }));
  }

  async query<T = unknown>(path: string, input?: unknown): Promise<ApiResult<T>> {
    const query = input === undefined ? undefined : `input=${encodeURIComponent(JSON.stringify({ json: input }))}`;
    return ApiClient.parse<T>(await this.raw(path, { query }));
  }

  /** Opens a subscription and returns its first event (name and data), then closes it. */
  async firstEvent(path: string, input: unknown, timeoutMs = 10_000): Promise<{ event: string; data: string }> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await this.raw(path, { query: `input=${encodeURIComponent(JSON.stringify({ json: input }))}`, signal: abort.signal });
      if (!res.headers.get("content-type")?.includes("text/event-stream")) return { event: `http-${res.status}`, data: await res.text() };
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return { event: "closed", data: text };
        text += decoder.decode(value, { stream: true });
        for (const block of text.split("\n\n").slice(0, -1)) {
          const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim()]));
          if (fields.data !== undefined && fields.event !== "connected") return { event: fields.event ?? "message", data: fields.data };
        }
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }
}
