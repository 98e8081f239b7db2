// Garbage for every procedure, shared by the in-process fuzzer (src/server/api/bad-input.test.ts)
// and the black-box one against the production server (e2e/production-api.spec.ts). Plain data
// only: the Playwright side must not import server code.

export type ProcedureType = "query" | "mutation" | "subscription";

/** Every procedure of the app router (bad-input.test.ts checks this list against the router). */
export const PROCEDURES: ReadonlyArray<readonly [string, ProcedureType]> = [
  ["auth.register", "mutation"],
  ["auth.login", "mutation"],
  ["auth.logout", "mutation"],
  ["auth.me", "query"],
  ["devices.list", "query"],
  ["devices.current", "query"],
  ["devices.rename", "mutation"],
  ["devices.forget", "mutation"],
  ["sessions.list", "query"],
  ["sessions.revoke", "mutation"],
  ["sessions.revokeOthers", "mutation"],
  ["sessions.lockout", "mutation"],
  ["sessions.history", "query"],
  ["sessions.cap", "query"],
  ["sessions.onEvent", "subscription"],
  ["handoff.start", "mutation"],
  ["handoff.offer", "mutation"],
  ["handoff.inspect", "mutation"],
  ["handoff.claim", "mutation"],
  ["handoff.approve", "mutation"],
  ["handoff.deny", "mutation"],
  ["handoff.complete", "mutation"],
  ["handoff.watch", "subscription"],
  ["approvals.pending", "query"],
  ["approvals.onRequest", "subscription"],
  ["approvals.confirm", "mutation"],
  ["approvals.deny", "mutation"],
  ["approvals.watch", "subscription"],
  ["approvals.complete", "mutation"],
  ["tokens.issue", "mutation"],
  ["tokens.complete", "mutation"],
  ["tokens.issueFromSession", "mutation"],
  ["tokens.refresh", "mutation"],
  ["tokens.revoke", "mutation"],
  ["account.changePassword", "mutation"],
  ["account.reauthenticate", "mutation"],
  ["account.requestPasswordReset", "mutation"],
  ["account.resetPassword", "mutation"],
  ["account.verifyEmail", "mutation"],
  ["account.resendVerification", "mutation"],
  ["account.changeEmail", "mutation"],
  ["account.securityActivity", "query"],
  ["account.exportData", "mutation"],
  ["account.delete", "mutation"],
  ["auth.passkeyOptions", "mutation"],
  ["auth.loginWithPasskey", "mutation"],
  ["passkeys.registrationOptions", "mutation"],
  ["passkeys.register", "mutation"],
  ["passkeys.list", "query"],
  ["passkeys.rename", "mutation"],
  ["passkeys.remove", "mutation"],
  ["passkeys.reauthOptions", "mutation"],
  ["auth.verifySecondFactor", "mutation"],
  ["tokens.verifySecondFactor", "mutation"],
  ["twoFactor.status", "query"],
  ["twoFactor.setup", "mutation"],
  ["twoFactor.enable", "mutation"],
  ["twoFactor.disable", "mutation"],
  ["twoFactor.regenerateRecoveryCodes", "mutation"],
];

/** Calls that would end or replace the caller's own session: fuzzed signed out only. */
export const ENDS_OWN_SESSION = new Set(["auth.logout", "auth.login", "auth.register", "account.delete", "auth.loginWithPasskey"]);

/** Every error code a bad input may answer with: anything else (a 500 above all) is a defect. */
export const ALLOWED_ERRORS = new Set([
  "BAD_REQUEST",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "TOO_MANY_REQUESTS",
  "PARSE_ERROR",
  "METHOD_NOT_SUPPORTED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
]);

export const HANDCRAFTED_INPUTS: unknown[] = [
  null,
  0,
  -1,
  "",
  "x".repeat(30_000),
  [],
  [{}],
  { email: null, password: null },
  { email: 42, password: {} },
  { email: "a@b.c", password: ["x"] },
  { email: "ann@example.com\u0000", password: "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000" },
  { email: `${"a".repeat(300)}@example.com`, password: "x".repeat(10_000) },
  { email: "𝒶@𝒷.𝒸", password: "🔑".repeat(300) },
  { __proto__: { admin: true }, constructor: { prototype: {} } },
  JSON.parse('{"email":"a@b.co","password":"p","__proto__":{"x":1}}'),
  {
    id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    token: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    requestId: "00000000-0000-4000-8000-000000000000",
    sessionId: "x",
    deviceId: "x",
    code: "123456",
  },
  // WebAuthn responses (auth.loginWithPasskey, passkeys.register, account.reauthenticate { passkey }): well-formed in shape, garbage inside.
  {
    response: {
      id: "AAAA",
      rawId: "AAAA",
      type: "public-key",
      response: {
        clientDataJSON: "eyJjaGFsbGVuZ2UiOiJBQUFBIiwidHlwZSI6IndlYmF1dGhuLmdldCJ9",
        authenticatorData: "AAAA",
        signature: "AAAA",
        attestationObject: "oWNmbXQ",
      },
      clientExtensionResults: {},
    },
    name: "x",
  },
  { passkey: { id: "AAAA", rawId: "AAAA", type: "public-key", response: { clientDataJSON: "e30", authenticatorData: "AAAA", signature: "AAAA" } } },
  // Second-factor inputs: a well-formed unknown challenge, and ids and codes of wrong shapes.
  { challengeId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", code: "abcde-fghjk", deviceKey: "A".repeat(43) },
  { challengeId: "../../etc/passwd", code: "0".repeat(33) },
  { challengeId: ["x"], code: { $ne: 1 } },
  { challengeId: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", code: "１２３４５６" },
  // A password with an empty or mistyped code (account.reauthenticate, changePassword, delete).
  { password: "x", currentPassword: "x", newPassword: "a new passphrase", code: "" },
  { password: "x", currentPassword: "x", newPassword: "a new passphrase", code: ["x"] },
];

/** Whole request bodies (already encoded), sent as they are. */
export const MALFORMED_BODIES: string[] = [
  "",
  "{",
  "null",
  "[]",
  '{"json":',
  "\u0000",
  "x".repeat(200_000),
  '{"json":{"email":{"$ne":1}}}',
  // superjson meta that used to recurse until the stack overflowed, or echo internal text.
  '{"json":{"email":"a@b.co","password":"x"},"meta":{"values":{"email":"notarray"}}}',
  '{"json":{"email":"a@b.co","password":"x"},"meta":{"values":{"email":["bigint"]}}}',
  '{"json":{"email":"a@b.co","password":"x"},"meta":{"values":["class","X"]}}',
  '{"json":{"email":"a@b.co","password":"x"},"meta":{"values":{"email":["custom","x"]}}}',
  '{"json":{"email":"a@b.co"},"meta":{"values":{"__proto__.polluted":["undefined"]}}}',
  '{"json":{"a":{"b":1}},"meta":{"referentialEqualities":{"a":["a.b.c.d"]}}}',
  '{"json":{"email":"a@b.co"},"meta":"x"}',
];

/** A request the transport or a rule refuses, and the exact answer it must get (status and data.reason). */
export interface TransportCase {
  name: string;
  path: string;
  method: "GET" | "POST";
  query?: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  reason: string;
}

/** Sent as they are, signed out, by both suites; each must answer exactly `status` with `reason`. */
export const TRANSPORT_CASES: TransportCase[] = [
  {
    name: "a batch over the limit",
    path: Array(11).fill("auth.me").join(","),
    method: "GET",
    query: "batch=1&input=%7B%7D",
    status: 400,
    reason: "batch_too_large",
  },
  { name: "a broken %-escape in the path", path: "auth.me%E0%A4%A", method: "GET", status: 400, reason: "malformed_url" },
  { name: "a broken %-escape in a batch", path: "auth.me,auth.m%E0", method: "GET", query: "batch=1", status: 400, reason: "malformed_url" },
  { name: "an unknown procedure", path: "auth.nope", method: "GET", status: 404, reason: "protocol_error" },
  { name: "a mutation by GET", path: "auth.login", method: "GET", status: 405, reason: "protocol_error" },
  { name: "a query by POST", path: "auth.me", method: "POST", body: "{}", status: 405, reason: "protocol_error" },
  {
    name: "another content type",
    path: "auth.login",
    method: "POST",
    body: "x=1",
    headers: { "content-type": "text/plain" },
    status: 415,
    reason: "protocol_error",
  },
  { name: "a body that is not JSON", path: "auth.login", method: "POST", body: "{", status: 400, reason: "malformed_input" },
  {
    name: "superjson meta our inputs never carry",
    path: "auth.login",
    method: "POST",
    body: '{"json":{"email":"a@b.co","password":"x"},"meta":{"values":{"email":["bigint"]}}}',
    status: 400,
    reason: "malformed_input",
  },
  { name: "an invalid input", path: "auth.login", method: "POST", body: '{"json":{"email":1}}', status: 400, reason: "invalid_input" },
  { name: "signed out", path: "auth.me", method: "GET", status: 401, reason: "not_signed_in" },
  {
    name: "a cross-site mutation",
    path: "sessions.revokeOthers",
    method: "POST",
    body: "{}",
    headers: { origin: "https://evil.example" },
    status: 403,
    reason: "origin_mismatch",
  },
  { name: "an unknown refresh token", path: "tokens.refresh", method: "POST", body: '{"json":{"refreshToken":"x.y"}}', status: 401, reason: "refresh_invalid" },
];
