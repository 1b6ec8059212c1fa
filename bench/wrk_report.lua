-- wrk script for bench/consent_bench.py.
--   wrk ... -s bench/wrk_report.lua URL             GETs URL
--   wrk ... -s bench/wrk_report.lua URL -- 'BODY'   POSTs BODY as application/json
--   wrk ... -s bench/wrk_report.lua URL -- 'BODY' TYPE 'Name: value' ...
--                                                   POSTs BODY as TYPE, with those headers
-- At the end it prints one line, "WRK_JSON {...}": counts, errors and latency percentiles
-- in microseconds, for the Python driver to read.

function init(args)
  if #args > 0 then
    wrk.method = "POST"
    wrk.body = args[1]
    wrk.headers["Content-Type"] = args[2] or "application/json"
    for i = 3, #args do
      local name, value = args[i]:match("^([^:]+):%s*(.*)$")
      wrk.headers[name] = value
    end
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p99": %d, "p99_9": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)
  ))
end
