// Liveness: a bare route with no session work and no service behind it (200 while the process
// serves requests; readiness, with PostgreSQL, Redis and migrations, is /api/ready). Also the
// reference the benchmarks compare tRPC calls against.
export function GET() {
  return Response.json({ ok: true });
}
