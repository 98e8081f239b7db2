import { betterAuth } from "better-auth";
import { peerOptions } from "./options";

export const auth = betterAuth(peerOptions());
