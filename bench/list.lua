-- wrk script: filtered list pages, cycling through common filters.
local queries = {
  "/api/v1/alumni?country=DE&limit=25",
  "/api/v1/alumni?program=Computer%20Science&limit=25",
  "/api/v1/alumni?graduationYearFrom=2010&graduationYearTo=2015&limit=25",
  "/api/v1/alumni?status=lost_contact&limit=25",
  "/api/v1/alumni?tag=mentor&country=US&limit=25",
  "/api/v1/alumni?faculty=School%20of%20Law&limit=25",
}
local i = 0

-- $TOKEN is an access token (the bench task signs in first).
local headers = {["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")}

function request()
  i = i % #queries + 1
  return wrk.format("GET", queries[i], headers)
end
