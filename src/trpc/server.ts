import "server-only";
import { TRPCError } from "@trpc/server";
import { headers } from "next/headers";
import { cache } from "react";
import { createContext } from "~/server/api/context";
import { reasonOf } from "~/server/api/errors";
import { createCaller } from "~/server/api/root";
import { getServices } from "~/server/services";

/** A tRPC caller for server components: same procedures and checks, no HTTP hop. */
export const serverApi = cache(async () => createCaller(createContext({ headers: new Headers(await headers()), resHeaders: null, services: getServices })));

/** The signed-in user and session, or null when the session is missing, ended or expired. */
export async function currentSession() {
  try {
    return await (await serverApi()).auth.me();
  } catch (error) {
    if (error instanceof TRPCError && reasonOf(error) === "not_signed_in") return null;
    throw error;
  }
}
