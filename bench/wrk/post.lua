-- POST /api/payments with a new Idempotency-Key each time.
-- wrk ... -s bench/wrk/post.lua URL -- API_KEY
-- Keys are "bench-" and 32 hex digits: a shape the card-number scan leaves alone (digit runs
-- with one letter between them can look like a card number, and would get a 422).
local threads = {}

function setup(thread)
  thread:set("number", #threads)
  table.insert(threads, thread)
end

function init(args)
  api_key = args[1]
  math.randomseed(os.time() + number * 7919)
  prefix = string.format("bench-%08x%08x", number, math.random(0, 2147483647))
  counter = 0
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/api/payments", {
    ["Authorization"] = "Bearer " .. api_key,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. string.format("%016x", counter),
  }, '{"amount_minor": 1234, "currency": "USD", "merchant_reference": "bench"}')
end
