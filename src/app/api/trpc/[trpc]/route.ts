import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createContext } from "~/server/api/context";
import { appRouter } from "~/server/api/root";
import { getServices } from "~/server/services";

const handler = (req: Request) =>
  fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext({ headers: req.headers, resHeaders, services: getServices }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(`[trpc] ${path ?? "?"}:`, error.cause ?? error);
    },
  });

export { handler as GET, handler as POST };
