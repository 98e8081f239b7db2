// The bare route of the peer's app, as Handoff's /api/health: each app's reference for its own ratios.
export function GET() {
  return Response.json({ ok: true });
}
