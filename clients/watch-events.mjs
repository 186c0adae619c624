// Prints the change events of a running alumnid as they happen (GET /api/v1/events).
//
//   TOKEN=$(curl -s http://127.0.0.1:8080/api/v1/auth/login -H 'Content-Type: application/json' \
//     -d '{"email":"staff@demo.alumnid.test","password":"<printed by task run>"}' | jq -r .accessToken)
//   TOKEN=$TOKEN node --experimental-websocket clients/watch-events.mjs [http://127.0.0.1:8080]
//
// Then change a record (Swagger UI at /docs, the React example, curl): its event appears here.
// Node 20 needs --experimental-websocket for the global WebSocket (Node 22 has it by default).
const base = (process.argv[2] ?? "http://127.0.0.1:8080").replace(/^http/, "ws");
if (!process.env.TOKEN) {
  console.error("set TOKEN to an access token (see the comment at the top)");
  process.exit(2);
}
let lastEventId;
function connect() {
  const ws = new WebSocket(`${base}/api/v1/events`);
  // The token goes in the first message, never in the URL.
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: process.env.TOKEN, lastEventId }));
  ws.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.id) lastEventId = e.id;
    const what = e.alumnusId ? ` ${e.alumnusId}${e.fields ? " [" + e.fields.join(", ") + "]" : ""}` : "";
    const progress = e.import ? ` import ${e.import.id}: ${e.import.status}, ${e.import.processedRows} rows` : "";
    console.log(`${e.occurredAt ?? new Date().toISOString()} ${e.type}${what}${progress}`);
  };
  ws.onclose = (e) => {
    console.log(`closed: ${e.code} ${e.reason}`);
    if (e.code === 1008) process.exit(1); // authentication: a new token is needed
    setTimeout(connect, 1000); // resume after the last event seen
  };
}
connect();
