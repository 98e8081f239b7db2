import { withRequestLog } from "~/server/platform/logger";
import { getServices } from "~/server/services";
import { formPostHandler } from "../handler";

export const POST = withRequestLog("/api/form/login", formPostHandler("login", getServices));
