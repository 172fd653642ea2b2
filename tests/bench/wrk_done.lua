-- wrk reporter of `make bench`: prints the exact counters wrk keeps, so the
-- driver can check that every response was the expected 200 (wrk itself
-- counts 3xx as success). Only done() is defined: with no request() or
-- response() function wrk stays on its fast path (no Lua per request).
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRKRESULT requests=%d bytes=%d duration_us=%d connect=%d read=%d " ..
      "write=%d status=%d timeout=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.bytes, summary.duration, e.connect, e.read,
      e.write, e.status, e.timeout, latency:percentile(50),
      latency:percentile(99)))
end
