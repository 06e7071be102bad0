-- bench/pixel.lua: wrk script for bench/run.sh. With arguments (-- FILE N) it sends the
-- benchmark request from N client addresses in turn, one per line of FILE, as
-- X-Forwarded-For (leadedge trusts the loopback proxy in the benchmark, so each request is
-- enriched for its own address; nginx ignores the header). The requests are formatted once in
-- init, so per request wrk only picks the next one.
local reqs = {}
local i = 0
init = function(args)
    local path, n = args[1], tonumber(args[2] or "0")
    if not path then return end
    for line in io.lines(path) do
        if #reqs >= n then break end
        wrk.headers["X-Forwarded-For"] = line
        reqs[#reqs + 1] = wrk.format()
    end
end
request = function()
    if #reqs == 0 then return wrk.format() end
    i = i % #reqs + 1
    return reqs[i]
end
