import { withRequestLog } from "~/server/platform/logger";
import { getServices } from "~/server/services";
import { formPostHandler } from "../handler";

export const POST = withRequestLog("/api/form/second-factor", formPostHandler("second-factor", getServices));
