import { z } from "zod";

// Device names are shown to the account owner in places where they decide something ("approve
// this device?", "sign this device out?"), and a token client chooses its own. So a name must read
// as what it is: nothing that reorders text (a right-to-left override turns "tcca peek ot evorppa
// :nimdA" into "Admin: approve to keep acct"), hides characters (zero-width, fillers) or breaks
// the layout (controls, line breaks, stacked combining marks).

const MAX_NAME_LENGTH = 64;
/** Input beyond this is refused before any work is done on it. */
const MAX_INPUT_LENGTH = 1024;

const WHITESPACE = /[\t\n\v\f\r\p{Z}]+/gu;
// \p{C}: controls, format characters (bidi embeddings, overrides, isolates and marks, zero-width
// characters, the BOM, soft hyphen, tags), lone surrogates, private use and unassigned code points.
// The Hangul and braille fillers are letters that print as blanks.
// Zero-width (non-)joiners are kept where they join two visible characters: emoji sequences
// (👩‍💻) and Persian or Indic names need them; anywhere else they only hide things.
const INVISIBLE = new RegExp(String.raw`[[\p{C}\u115F\u1160\u3164\uFFA0\u2800]--[\u200C\u200D]]`, "gv");
const JOINABLE = String.raw`[\p{L}\p{M}\p{N}\p{Extended_Pictographic}\uFE0F]`;
const STRAY_JOINER = new RegExp(String.raw`(?<!${JOINABLE})[\u200C\u200D]|[\u200C\u200D](?!${JOINABLE})`, "gu");
// Real scripts stack a few combining marks on a letter; "Zalgo" text stacks dozens to paint over
// neighbouring lines.
const MARK_PILE = /(\p{M}{3})\p{M}+/gu;

/** The name as it will be stored and shown: visible characters only, single spaces, NFC. */
export function cleanDeviceName(name: string): string {
  return name.normalize("NFC").replace(WHITESPACE, " ").replace(INVISIBLE, "").replace(STRAY_JOINER, "").replace(MARK_PILE, "$1").replace(/ {2,}/g, " ").trim();
}

/** Every device name a user or a client supplies (tokens.*, devices.rename) goes through this one schema. */
export const deviceNameInput = z
  .string({ message: "A name is required" })
  .max(MAX_INPUT_LENGTH, { message: `Names are at most ${MAX_NAME_LENGTH} characters` })
  .transform(cleanDeviceName)
  .pipe(
    z
      .string()
      .min(1, { message: "A name is required" })
      .refine((name) => [...name].length <= MAX_NAME_LENGTH, { message: `Names are at most ${MAX_NAME_LENGTH} characters` }),
  );
