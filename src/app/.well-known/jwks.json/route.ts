import { getServices } from "~/server/services";

// The public keys that verify access tokens (current and retired), for resource servers that
// check tokens themselves. They still need tokens' sessions to be live: see README, "API: tokens".
export async function GET() {
  const services = await getServices();
  return Response.json(await services.jwt.jwks(), { headers: { "cache-control": "public, max-age=300" } });
}
