import crypto from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";

// A software WebAuthn authenticator for the integration tests: a P-256 key per credential (node:crypto),
// attestation "none" and assertions built byte for byte as the WebAuthn spec (§6.1 authenticator
// data, §6.5 attestation object, §6.3.3 assertion signature) says, CBOR through the encoder
// @simplewebauthn/server itself uses. Options change what it does so tests can misbehave on purpose.

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

interface Credential {
  id: Buffer;
  privateKey: crypto.KeyObject;
  publicKey: crypto.KeyObject;
  userHandle: string;
  rpId: string;
  counter: number;
}

export interface AuthenticatorOptions {
  /** The page's origin, as the browser would put it in clientDataJSON. */
  origin: string;
  /** 16 bytes as a UUID; default all zero. */
  aaguid?: string;
  /** Backup eligible and backed up (a synced passkey). */
  synced?: boolean;
  /** How much the signature counter grows per use; 0: it never counts (as synced passkeys do). */
  counterStep?: number;
  /** Whether it reports user verification. */
  userVerified?: boolean;
}

const sha256 = (data: Buffer | string) => crypto.createHash("sha256").update(data).digest();
const b64url = (data: Buffer) => data.toString("base64url");

function coseKey(publicKey: crypto.KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  const key = new Map<number, number | Uint8Array>([
    [1, 2], // kty: EC2
    [3, -7], // alg: ES256
    [-1, 1], // crv: P-256
    [-2, new Uint8Array(Buffer.from(jwk.x!, "base64url"))],
    [-3, new Uint8Array(Buffer.from(jwk.y!, "base64url"))],
  ]);
  return isoCBOR.encode(key);
}

export class SoftwareAuthenticator {
  readonly credentials: Credential[] = [];

  constructor(readonly options: AuthenticatorOptions) {}

  /** A copy holding the same keys and counters: what cloning an authenticator gives an attacker. */
  clone(): SoftwareAuthenticator {
    const copy = new SoftwareAuthenticator({ ...this.options });
    for (const c of this.credentials) copy.credentials.push({ ...c });
    return copy;
  }

  private flags(extra: number) {
    const uv = this.options.userVerified === false ? 0 : FLAG_UV;
    const backup = this.options.synced ? FLAG_BE | FLAG_BS : 0;
    return FLAG_UP | uv | backup | extra;
  }

  private authData(rpId: string, flags: number, counter: number, attested?: Buffer): Buffer {
    const head = Buffer.alloc(37);
    sha256(rpId).copy(head, 0);
    head.writeUInt8(flags, 32);
    head.writeUInt32BE(counter, 33);
    return attested ? Buffer.concat([head, attested]) : head;
  }

  private clientData(type: "webauthn.create" | "webauthn.get", challenge: string, origin = this.options.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create() with these options, as @simplewebauthn/browser's startRegistration returns it. */
  register(options: PublicKeyCredentialCreationOptionsJSON, overrides: { origin?: string } = {}): RegistrationResponseJSON {
    const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    const id = crypto.randomBytes(16);
    const rpId = options.rp.id!;
    const credential: Credential = { id, privateKey, publicKey, userHandle: options.user.id, rpId, counter: 0 };
    const aaguid = Buffer.from((this.options.aaguid ?? "00000000-0000-0000-0000-000000000000").replaceAll("-", ""), "hex");
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const attested = Buffer.concat([aaguid, idLength, id, Buffer.from(coseKey(publicKey))]);
    credential.counter += this.options.counterStep ?? 1;
    const authData = this.authData(rpId, this.flags(FLAG_AT), this.options.counterStep === 0 ? 0 : credential.counter, attested);
    const attestation = new Map<string, Parameters<typeof isoCBOR.encode>[0]>();
    attestation.set("fmt", "none");
    attestation.set("attStmt", new Map<string, never>());
    attestation.set("authData", new Uint8Array(authData));
    const attestationObject = isoCBOR.encode(attestation);
    this.credentials.push(credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(this.clientData("webauthn.create", options.challenge, overrides.origin)),
        attestationObject: b64url(Buffer.from(attestationObject)),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** navigator.credentials.get(): signs with the named credential, or the first one for the RP (a discoverable pick). */
  assert(options: PublicKeyCredentialRequestOptionsJSON, pick: { credentialId?: string; origin?: string } = {}): AuthenticationResponseJSON {
    const rpId = options.rpId!;
    const credential = this.credentials.find((c) => (pick.credentialId ? b64url(c.id) === pick.credentialId : c.rpId === rpId));
    if (!credential) throw new Error("no credential for this relying party");
    credential.counter += this.options.counterStep ?? 1;
    const authData = this.authData(rpId, this.flags(0), this.options.counterStep === 0 ? 0 : credential.counter);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, pick.origin);
    const signature = crypto.sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}
