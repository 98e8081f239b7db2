import { handleTrpcRequest } from "~/server/api/http-handler";
import { getServices } from "~/server/services";

const handler = (req: Request) => handleTrpcRequest(req, getServices);

export { handler as GET, handler as POST };
