import { z } from "zod";
import { deviceNameInput } from "~/server/devices/device-name";

// The JSON a browser's navigator.credentials.create()/get() answer becomes (what
// @simplewebauthn/browser's startRegistration/startAuthentication return). Validated in shape and
// size here; what the bytes mean is checked by @simplewebauthn/server, and anything it rejects is
// answered as BAD_REQUEST/UNAUTHORIZED "passkey_invalid", never a 500.

const base64url = (field: string, max = 8192) =>
  z
    .string({ message: `${field} must be a base64url string` })
    .min(1, { message: `${field} must be a base64url string` })
    .max(max, { message: `${field} is too long` })
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, { message: `${field} must be a base64url string` });

const common = {
  id: base64url("id", 1024),
  rawId: base64url("rawId", 1024),
  type: z.literal("public-key", { message: 'type must be "public-key"' }),
  clientExtensionResults: z.looseObject({}).default({}),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
};

export const registrationResponseInput = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url("response.clientDataJSON"),
    attestationObject: base64url("response.attestationObject", 32_768),
    authenticatorData: base64url("response.authenticatorData").optional(),
    transports: z.array(z.string().max(32)).max(10).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url("response.publicKey").optional(),
  }),
});

export const authenticationResponseInput = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url("response.clientDataJSON"),
    authenticatorData: base64url("response.authenticatorData"),
    signature: base64url("response.signature", 2048),
    userHandle: base64url("response.userHandle", 512).optional(),
  }),
});

export type RegistrationResponseInput = z.infer<typeof registrationResponseInput>;
export type AuthenticationResponseInput = z.infer<typeof authenticationResponseInput>;

/** A passkey's name: cleaned like a device name (visible characters, single spaces, NFC). */
export const passkeyName = deviceNameInput;

export const passkeyId = z.uuid({ message: "id must be a passkey id" });
