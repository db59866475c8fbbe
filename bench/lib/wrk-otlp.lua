-- wrk script for bench/workers.mjs: posts one prepared OTLP/HTTP protobuf body (the file named by the
-- environment variable GS_BODY_FILE) over and over on keep-alive connections, so the client costs wrk's
-- few instructions per request instead of a Node event loop's. The request string is formatted once.
--
-- When the run ends it prints one line the benchmark parses:
--   GSRESULT requests=<complete responses> non2xx=<status > 399> connect=.. read=.. write=.. timeout=..
--            duration_us=.. p50_us=.. p99_us=.. cpu_ticks=<utime+stime of this wrk process>
-- The CPU ticks come from /proc/self/stat at that moment (the whole run: wrk has no warm-up phase).
local f = assert(io.open(assert(os.getenv("GS_BODY_FILE"), "GS_BODY_FILE is not set"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-protobuf"

local function cpu_ticks()
  local s = io.open("/proc/self/stat", "r")
  if not s then return -1 end
  local line = s:read("*l")
  s:close()
  -- Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  local rest = line:sub(line:find("%)[^)]*$") + 2)
  local fields = {}
  for x in rest:gmatch("%S+") do fields[#fields + 1] = x end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "GSRESULT requests=%d non2xx=%d connect=%d read=%d write=%d timeout=%d duration_us=%d p50_us=%d p99_us=%d cpu_ticks=%d\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), cpu_ticks()))
end
