-- wrk script for the receiver benchmark: valid `GET /track?data=...` requests,
-- each with its own $insert_id (the receiver keeps re-deliveries once), and a
-- JSON summary line at the end.
--
-- The event JSON is split as prefix | 12-character id | suffix, with the
-- prefix a multiple of 3 bytes long, so base64(prefix) and base64(suffix) are
-- computed once and only the id is encoded per request.

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64 + 1
    local c2 = math.floor(n / 4096) % 64 + 1
    local c3 = math.floor(n / 64) % 64 + 1
    local c4 = n % 64 + 1
    out[#out + 1] = b64chars:sub(c1, c1) .. b64chars:sub(c2, c2) ..
      (b and b64chars:sub(c3, c3) or "=") .. (c and b64chars:sub(c4, c4) or "=")
  end
  return table.concat(out)
end

local function pad3(s)
  while #s % 3 ~= 0 do s = s .. " " end
  return s
end

local prefix = pad3('{"event":"collect metrics","properties":{"token":"e943e8a2ebd1352338ecac1f9fde8c7c","time":1795544503,"distinct_id":"22d36da9-9b3a-42ec-adf7-28ca710e6183","model_count":3,"$insert_id":"')
local suffix = '"}}'
local prefix64 = b64(prefix)
local suffix64 = b64(suffix)

local threads = {}
local counter = 0
-- thread_id is a global set by setup() in each thread's own Lua state.

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  -- 12 characters: 2 for the thread, 10 for the request.
  local id = string.format("%02d%010d", (thread_id or 0) % 100, counter)
  local data = prefix64 .. b64(id) .. suffix64
  -- base64's + and / must be escaped in a query string.
  data = data:gsub("%+", "%%2B"):gsub("/", "%%2F"):gsub("=", "%%3D")
  return wrk.format("GET", "/track?data=" .. data)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"non2xx3xx":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.connect,
    e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max))
end
