import type { AccountLinkStore } from "~/server/account/link-store";
import type { OwnRecordsDeps } from "~/server/auth/types";
import type { Policy } from "~/server/policy";
import type { RedisHandle } from "~/server/platform/redis";
import type { AccountThrottle } from "~/server/security/throttle";

/** What the account-lifecycle use cases (password reset, verification, change of address, export, deletion) need. */
export interface AccountDeps extends OwnRecordsDeps {
  links: AccountLinkStore;
  redis: Pick<RedisHandle, "redis" | "prefix">;
  throttle: AccountThrottle;
  policy: Pick<Policy, "links" | "emailVerification">;
  config: OwnRecordsDeps["config"] & { appOrigin: string };
}
