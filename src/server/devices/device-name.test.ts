import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanDeviceName } from "~/server/devices/device-name";
import { PASSWORD } from "~/test/fixtures";
import { createTestServices, TestBrowser, uniqueEmail } from "~/test/harness";
import type { RouterOutputs } from "~/trpc/types";

type Approval = Extract<RouterOutputs["tokens"]["issue"], { status: "approval_required" }>;

const RLO = "\u202E";
const PDF = "\u202C";

describe("cleanDeviceName", () => {
  it("drops every character that can hide or reorder text", () => {
    const hidden = [
      "\u0000",
      "\u0007",
      "\u001B",
      "\u007F",
      "\u0085",
      "\u009B", // C0/C1 controls, DEL
      "\u202A",
      "\u202B",
      "\u202C",
      "\u202D",
      "\u202E", // bidi embeddings and overrides
      "\u2066",
      "\u2067",
      "\u2068",
      "\u2069", // bidi isolates
      "\u200E",
      "\u200F",
      "\u061C", // bidi marks
      "\u200B",
      "\u2060",
      "\uFEFF",
      "\u00AD", // zero-width, soft hyphen
      "\u3164",
      "\u115F",
      "\uFFA0", // Hangul fillers (blank letters)
      "\uDB40\uDC41", // a tag character
      "\uD800", // a lone surrogate
    ];
    for (const c of hidden) expect(cleanDeviceName(`Ph${c}one`), JSON.stringify(c)).toBe("Phone");
  });

  it("keeps zero-width (non-)joiners only where they join two visible characters (emoji sequences, Persian and Indic names)", () => {
    expect(cleanDeviceName("👩\u200D💻 laptop")).toBe("👩\u200D💻 laptop");
    expect(cleanDeviceName("می\u200Cخواهم")).toBe("می\u200Cخواهم");
    for (const c of ["\u200C", "\u200D"]) {
      expect(cleanDeviceName(`${c}Phone${c}`), JSON.stringify(c)).toBe("Phone");
      expect(cleanDeviceName(`Ph ${c} one`), JSON.stringify(c)).toBe("Ph one");
      expect(cleanDeviceName(`Ph${c}${c}one`), JSON.stringify(c)).toBe("Phone");
    }
  });

  it("collapses whitespace of every kind, trims, and keeps real letters, accents and emoji", () => {
    expect(cleanDeviceName("  My\t\n phone\u00A0\u2003\u2028 app ")).toBe("My phone app");
    expect(cleanDeviceName("Zoë’s Pixel 📱 — Ελληνικά 日本")).toBe("Zoë’s Pixel 📱 — Ελληνικά 日本");
    expect(cleanDeviceName("Ze\u0301")).toBe("Zé");
    expect(cleanDeviceName(`Z${"\u0336".repeat(40)}oe`)).toBe(`Z${"\u0336".repeat(3)}oe`);
  });
});

describe("device names a client chooses (real PostgreSQL + Redis)", () => {
  let t: Awaited<ReturnType<typeof createTestServices>>;
  const cli = () => {
    const client = new TestBrowser(t.services, { origin: null, userAgent: "handoff-cli/1.0" });
    client.cookieHeader = () => "";
    return client;
  };

  beforeAll(async () => {
    t = await createTestServices({ NEW_DEVICE_APPROVAL: "true", SESSION_LIMIT: "0" });
  });
  afterAll(() => t.close());

  async function signedIn() {
    const email = uniqueEmail();
    const laptop = new TestBrowser(t.services);
    expect((await laptop.mutation("auth.register", { email, password: PASSWORD })).status).toBe(200);
    return { email, laptop };
  }

  it("the approval prompt shows a token client's name cleaned, marked as given by the device", async () => {
    const { email, laptop } = await signedIn();
    const prompts = (await (await laptop.caller()).approvals.onRequest())[Symbol.asyncIterator]();
    const prompt = prompts.next();
    await new Promise((r) => setTimeout(r, 100));

    const spoof = `${RLO}tcca peek ot evorppa :nimdA${PDF}\u200B\n\tCLI`;
    const asked = await cli().mutation<Approval>("tokens.issue", { email, password: PASSWORD, deviceName: spoof });
    expect(asked.data).toMatchObject({ status: "approval_required" });

    const cleaned = "tcca peek ot evorppa :nimdA CLI";
    expect(((await prompt).value as unknown as unknown[])[1]).toMatchObject({
      type: "approval_requested",
      requestId: asked.data!.requestId,
      deviceName: cleaned,
      nameGivenByDevice: true,
    });
    const pending = (await laptop.query<RouterOutputs["approvals"]["pending"]>("approvals.pending")).data!;
    expect(pending).toEqual([
      expect.objectContaining({ requestId: asked.data!.requestId, device: expect.objectContaining({ name: cleaned, nameGivenByDevice: true }) }),
    ]);
    await prompts.return?.(undefined);
  });

  it("a browser's request is named after its user agent, not by the device", async () => {
    const { email, laptop } = await signedIn();
    const other = new TestBrowser(t.services, { userAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0" });
    expect((await other.mutation("auth.login", { email, password: PASSWORD })).data).toMatchObject({ status: "approval_required" });
    const pending = (await laptop.query<RouterOutputs["approvals"]["pending"]>("approvals.pending")).data!;
    expect(pending[0]!.device).toMatchObject({ name: "Firefox on Linux", nameGivenByDevice: false });
  });

  it("a name with nothing visible left is a typed BAD_REQUEST on every procedure that takes one", async () => {
    const { email, laptop } = await signedIn();
    const deviceId = (await laptop.query<{ id: string }>("devices.current")).data!.id;
    for (const empty of ["", "   ", `${RLO}${PDF}`, "\u200B\u2066\u2069", "\u0000\t\u0007", "\u3164"]) {
      const calls = [
        ["tokens.issue", await cli().mutation("tokens.issue", { email, password: PASSWORD, deviceName: empty }), "deviceName"],
        ["tokens.complete", await cli().mutation("tokens.complete", { requestId: "a".repeat(22), approvalSecret: "x", deviceName: empty }), "deviceName"],
        ["tokens.issueFromSession", await laptop.mutation("tokens.issueFromSession", { deviceName: empty }), "deviceName"],
        ["devices.rename", await laptop.mutation("devices.rename", { deviceId, name: empty }), "name"],
      ] as const;
      for (const [path, res, field] of calls) {
        expect(res.status, `${path} ${JSON.stringify(empty)}`).toBe(400);
        expect(res.error?.data.code).toBe("BAD_REQUEST");
        expect(res.error?.data.fieldErrors?.[field]).toEqual(["A name is required"]);
      }
    }
  });

  it("names are stored cleaned, and bounded in length after cleaning", async () => {
    const { laptop } = await signedIn();
    const deviceId = (await laptop.query<{ id: string }>("devices.current")).data!.id;
    expect((await laptop.mutation("devices.rename", { deviceId, name: `  Work${RLO} \u200Blaptop  ` })).status).toBe(200);
    expect((await laptop.query<{ name: string }>("devices.current")).data!.name).toBe("Work laptop");

    // 64 visible characters pass however many invisible ones came with them; 65 do not.
    expect((await laptop.mutation("devices.rename", { deviceId, name: `${"\u200B".repeat(100)}${"x".repeat(64)}` })).status).toBe(200);
    const tooLong = await laptop.mutation("devices.rename", { deviceId, name: "x".repeat(65) });
    expect(tooLong.error?.data.fieldErrors?.name).toEqual(["Names are at most 64 characters"]);
    expect((await laptop.mutation("devices.rename", { deviceId, name: "x".repeat(5000) })).status).toBe(400);

    const app = await laptop.mutation<{ sessionId: string }>("tokens.issueFromSession", { deviceName: `Phone${RLO}gpj.exe` });
    expect(app.status).toBe(200);
    const userId = (await laptop.query<{ user: { id: string } }>("auth.me")).data!.user.id;
    const devices = await t.services.db.device.findMany({ where: { userId }, select: { name: true } });
    expect(devices.map((d) => d.name)).toContain("Phonegpj.exe");
  });
});
