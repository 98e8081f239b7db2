"use server";

import { TRPCError } from "@trpc/server";
import { redirect } from "next/navigation";
import { serverApi } from "~/trpc/server";

// The forms of the account-link pages (/forgot, /reset/<token>, /verify/<token>) as server
// actions: they post (with or without JavaScript; nothing travels in a URL) and call the same tRPC
// procedures through the server-side caller, so validation, the Origin check and the rate limits
// are the procedures' own.

export type FormState = { status: "idle" } | { status: "error"; message: string; field?: string } | { status: "done"; message: string };

function failure(error: unknown): FormState {
  if (!(error instanceof TRPCError)) throw error;
  if (error.code === "INTERNAL_SERVER_ERROR") throw error;
  // Bad input: the first field zod complained about, with its message.
  const issues = (error.cause as { issues?: { path?: unknown[]; message?: string }[] } | undefined)?.issues;
  const field = issues?.[0]?.path?.[0];
  return { status: "error", message: issues?.[0]?.message ?? error.message, ...(typeof field === "string" ? { field } : {}) };
}

const text = (form: FormData, name: string) => {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
};

/** /forgot: always the same answer for a valid address, whether it has an account or not. */
export async function requestPasswordResetAction(_: FormState, form: FormData): Promise<FormState> {
  try {
    await (await serverApi()).account.requestPasswordReset({ email: text(form, "email") });
  } catch (error) {
    return failure(error);
  }
  return {
    status: "done",
    message: "If an account uses this address, we sent it a link to reset the password. It works once, for a limited time. Check your inbox (and spam folder).",
  };
}

/** /reset/<token>: the new password twice; on success, to the sign-in page. */
export async function resetPasswordAction(_: FormState, form: FormData): Promise<FormState> {
  const newPassword = text(form, "newPassword");
  if (newPassword !== text(form, "confirmPassword")) return { status: "error", message: "The two passwords differ.", field: "confirmPassword" };
  try {
    await (await serverApi()).account.resetPassword({ token: text(form, "token"), newPassword });
  } catch (error) {
    return failure(error);
  }
  redirect("/login?reason=password_reset");
}

/** /verify/<token>: the button that uses the link (opening the page alone changes nothing: mail scanners follow links). */
export async function verifyEmailAction(_: FormState, form: FormData): Promise<FormState> {
  try {
    const result = await (await serverApi()).account.verifyEmail({ token: text(form, "token") });
    return { status: "done", message: `${result.email} is verified.` };
  } catch (error) {
    return failure(error);
  }
}
