import { withRequestLog } from "~/server/platform/logger";
import { getServices } from "~/server/services";
import { formPostHandler } from "../handler";

export const POST = withRequestLog("/api/form/register", formPostHandler("register", getServices));
