-- wrk script: sends one fixed request and reports the run as a single JSON line.
--
-- The request comes from the file named by $BENCH_REQUEST (written by wrk_runner.py):
--   line 1          the HTTP method
--   next lines      "Name: value" headers, up to an empty line
--   the rest        the body (may be empty)
-- The URL (and so the path and query) is wrk's own command-line argument.
--
-- No response() callback: with one, wrk parses every answer's headers and body in Lua, and on
-- a machine it shares with the server that costs the fastest server a tenth of its rate.
-- wrk itself counts the answers with a status of 400 and above (summary.errors.status); the
-- routes measured answer neither 1xx nor 3xx, and the runner's preflight checks that each
-- one's first answer is a 2xx.

local spec = assert(os.getenv("BENCH_REQUEST"), "BENCH_REQUEST is not set")
local file = assert(io.open(spec, "rb"))
wrk.method = file:read("*l")
wrk.headers = wrk.headers or {}
while true do
  local line = file:read("*l")
  if line == nil or line == "" then break end
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
local body = file:read("*a")
file:close()
if body ~= nil and body ~= "" then wrk.body = body end

-- $BENCH_DELAY_MS (tools/bench/soak.py): a pause before each request, which caps the rate
-- of every connection; wrk calls delay() only when the script defines it.
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms then
  function delay()
    return delay_ms
  end
end

-- $BENCH_SUBJECT_TOKENS: a file of tokens, one a line, sent round robin as X-Subject-Token
-- (the scenarios that validate many distinct tokens, as a cloud's services see them). Each
-- thread starts at its own place in the list, so two threads do not present the same token
-- at the same moment (which would hand the second one a cached answer).
local tokens_file = os.getenv("BENCH_SUBJECT_TOKENS")
if tokens_file then
  local tokens = {}
  for line in io.lines(tokens_file) do
    if line ~= "" then tokens[#tokens + 1] = line end
  end
  local threads_seen = 0
  function setup(thread)
    thread:set("first_token", threads_seen * 10007)
    threads_seen = threads_seen + 1
  end
  local next_token
  function request()
    next_token = ((next_token or first_token or 0) % #tokens) + 1
    wrk.headers["X-Subject-Token"] = tokens[next_token]
    return wrk.format()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, ' ..
    '"max": %d, "mean": %.1f}, "socket_errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.timeout))
end
