// A module's live log: the buffered tail, then the follow stream (`…/logs?follow=1`), with
// search, pause (lines keep arriving and are shown on resume) and auto-scroll while following.
import { useEffect, useMemo, useRef, useState } from "react";
import { authedFetch } from "../api/client";

/** Lines kept in memory per view. */
const MAX_LINES = 2000;

export function LogView({ short }: { short: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [connected, setConnected] = useState(false);
  const [paused, setPaused] = useState(false);
  const [query, setQuery] = useState("");
  const held = useRef<string[]>([]);
  const pausedRef = useRef(false);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    const run = async () => {
      try {
        const res = await authedFetch(
          `/api/modules/${encodeURIComponent(short)}/logs?follow=1&lines=200`,
          { headers: { accept: "text/plain" }, signal: abort.signal },
        );
        setConnected(true);
        const reader = res.body?.getReader();
        if (!reader) return;
        const decoder = new TextDecoder();
        let rest = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          rest += decoder.decode(value, { stream: true });
          const parts = rest.split("\n");
          rest = parts.pop() ?? "";
          if (pausedRef.current) {
            held.current.push(...parts);
          } else {
            setLines((old) => [...old, ...parts].slice(-MAX_LINES));
          }
        }
        setConnected(false);
      } catch (e) {
        if (!abort.signal.aborted) {
          setConnected(false);
          setError(e instanceof Error ? e.message : String(e));
        }
      }
    };
    void run();
    return () => abort.abort();
  }, [short]);

  const togglePause = () => {
    const next = !paused;
    pausedRef.current = next;
    setPaused(next);
    if (!next && held.current.length > 0) {
      const flushed = held.current;
      held.current = [];
      setLines((old) => [...old, ...flushed].slice(-MAX_LINES));
    }
  };

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
  }, [lines, query]);

  useEffect(() => {
    if (!paused && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, paused]);

  return (
    <section className="logs" aria-label={`Logs of ${short}`}>
      <div className="logs-bar">
        <label>
          <span className="visually-hidden">Search logs of {short}</span>
          <input
            type="search"
            placeholder="Search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <button type="button" className="secondary" onClick={togglePause} aria-pressed={paused}>
          {paused ? `Resume logs of ${short}` : `Pause logs of ${short}`}
        </button>
        <span className={connected ? "pill ok" : "pill"}>
          {connected ? (paused ? "paused" : "following") : "not following"}
        </span>
      </div>
      {error && (
        <p className="error-text" role="alert">
          Log stream failed: {error}
        </p>
      )}
      <pre ref={box} className="log-lines" tabIndex={0} aria-live={paused ? "off" : "polite"}>
        {shown.length === 0
          ? query
            ? "No line matches the search."
            : "No output yet."
          : shown.join("\n")}
      </pre>
    </section>
  );
}
