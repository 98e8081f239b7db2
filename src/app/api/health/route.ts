// A bare route with no session work: the reference the benchmarks compare tRPC calls against.
export function GET() {
  return Response.json({ ok: true });
}
