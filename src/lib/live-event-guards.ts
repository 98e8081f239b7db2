import type { SessionsEndedEvent, UserEvent } from "./live-events";

// Value helpers for the pages that show live events, apart from the schemas in ./live-events
// (which client code must import only as types).

/** An event that ends sessions (`revoked`, `locked_out`). */
export const endsSessions = (event: UserEvent): event is SessionsEndedEvent => event.type === "revoked" || event.type === "locked_out";
