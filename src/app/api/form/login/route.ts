import { getServices } from "~/server/services";
import { formPostHandler } from "../handler";

export const POST = formPostHandler("login", getServices);
