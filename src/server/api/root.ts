import { approvalsRouter } from "./routers/approvals";
import { authRouter } from "./routers/auth";
import { devicesRouter } from "./routers/devices";
import { handoffRouter } from "./routers/handoff";
import { sessionsRouter } from "./routers/sessions";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  devices: devicesRouter,
  sessions: sessionsRouter,
  handoff: handoffRouter,
  approvals: approvalsRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
