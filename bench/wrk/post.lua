-- POST /api/payments with a new Idempotency-Key each time.
-- wrk ... -s bench/wrk/post.lua URL -- API_KEY
-- Keys are "bench-" and 32 letters (the thread, a random start and a counter, each hex digit
-- written as a letter a-p): no digits, so the card-number scan has nothing to refuse (hex digit
-- runs can look like a card number, and would get a 422, as the web app's keys show).
local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

-- Hex digits 0-9a-f as the letters a-p.
function letters(hex)
  return (hex:gsub(".", function(c) return string.char(string.byte("a") + tonumber(c, 16)) end))
end

function init(args)
  api_key = args[1]
  math.randomseed(os.time() + number * 7919)
  prefix = "bench-" .. letters(string.format("%08x%08x", number, math.random(0, 2147483647)))
  counter = 0
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/payments", {
    ["Authorization"] = "Bearer " .. api_key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. letters(string.format("%016x", counter)),
  }, '{"amount_minor": 1234, "currency": "USD", "merchant_reference": "bench"}')
end
