/**
 * A request's body, read up to `limit` bytes: null as soon as it is larger (a declared length over
 * the limit before reading a byte, a chunked one the moment it passes it), so nothing big is buffered.
 */
export async function readLimitedBody(req: Request, limit: number): Promise<ReturnType<typeof Buffer.concat> | null> {
  if (Number(req.headers.get("content-length")) > limit) {
    await req.body?.cancel().catch(() => undefined);
    return null;
  }
  if (!req.body) return Buffer.concat([]);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
