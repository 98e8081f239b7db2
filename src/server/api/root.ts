import { accountRouter } from "./routers/account";
import { approvalsRouter } from "./routers/approvals";
import { authRouter } from "./routers/auth";
import { devicesRouter } from "./routers/devices";
import { handoffRouter } from "./routers/handoff";
import { passkeysRouter } from "./routers/passkeys";
import { sessionsRouter } from "./routers/sessions";
import { tokensRouter } from "./routers/tokens";
import { twoFactorRouter } from "./routers/two-factor";
import { createCallerFactory, createTRPCRouter } from "./trpc";

export const appRouter = createTRPCRouter({
  auth: authRouter,
  devices: devicesRouter,
  sessions: sessionsRouter,
  handoff: handoffRouter,
  approvals: approvalsRouter,
  tokens: tokensRouter,
  account: accountRouter,
  passkeys: passkeysRouter,
  twoFactor: twoFactorRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
