-- Prints one machine-readable line at the end of a wrk run. Only `done` is defined,
-- so wrk keeps its fast path (no Lua per request), except for the propagation rows below.

-- A baseline's relay row sets BENCH_METHOD to a method its listen address took for raw bytes; the
-- upstream nginx answers any method. Set once, before the request is built.
wrk.method = os.getenv("BENCH_METHOD") or wrk.method
-- The propagation rows set BENCH_TRACES: each request then carries a traceparent of a trace of its
-- own, as real traffic does, so the proxy's trace memory takes a new trace each time. The fixed
-- request is built once and the field is put before its blank line.
if os.getenv("BENCH_TRACES") then
  local head, count = nil, 0
  local run = os.time()
  request = function()
    if head == nil then head = wrk.format():sub(1, -3) end
    count = count + 1
    return head .. string.format("traceparent: 00-%016x%016x-00f067aa0ba902b7-01\r\n\r\n", run, count)
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,' ..
    '"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,' ..
    '"max_us":%.0f,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
