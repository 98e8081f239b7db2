import http from "node:http";
import { PEER_ADDRESS_HEADER } from "~/server/platform/client-ip";

/**
 * App Router handlers never see the TCP socket, and Next.js fills X-Forwarded-For from it only
 * when the client sent none, so that header can be forged. Stamp every incoming request with the
 * real peer address under a header of our own, overwriting any value a client sent in it.
 * Called once at server start (src/instrumentation.ts).
 */
export function stampPeerAddress() {
  const proto = http.Server.prototype as unknown as { emit: (event: string, ...args: unknown[]) => boolean; handoffPeerAddress?: true };
  if (proto.handoffPeerAddress) return;
  proto.handoffPeerAddress = true;
  const emit = proto.emit;
  proto.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (event === "request") {
      const req = args[0] as http.IncomingMessage;
      req.headers[PEER_ADDRESS_HEADER] = req.socket?.remoteAddress ?? "";
    }
    return emit.call(this, event, ...args);
  };
}
