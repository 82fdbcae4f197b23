-- GET /api/payments/{id} over the ids in a file (one per line), round robin.
-- wrk ... -s bench/wrk/get.lua URL -- API_KEY IDS_FILE
function init(args)
  api_key = args[1]
  ids = {}
  for line in io.lines(args[2]) do
    table.insert(ids, line)
  end
  index = 0
end

function request()
  index = index % #ids + 1
  return wrk.format("GET", "/api/payments/" .. ids[index], {
    ["Authorization"] = "Bearer " .. api_key,
  })
end
