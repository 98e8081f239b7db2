"use client";

import { useEffect, useRef } from "react";

/** Runs `effect` once after the first render, even under React's double-invoked dev effects. */
export function useOnce(effect: () => void) {
  const done = useRef(false);
  const latest = useRef(effect);
  latest.current = effect;
  useEffect(() => {
    if (done.current) return;
    done.current = true;
    latest.current();
  }, []);
}
