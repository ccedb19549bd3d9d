-- POST /api/v1/greetings with a JSON body: one new row per request.
wrk.method = "POST"
wrk.body = '{"name": "bench"}'
wrk.headers["Content-Type"] = "application/json"
