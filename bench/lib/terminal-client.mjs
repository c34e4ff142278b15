// Helpers of the terminal benchmarks: create a session on the built agent and talk to it over /ws.
import WebSocket from 'ws';

/** POST /terminals; resolves to the numeric id. */
export async function createTerminal(url, token, body) {
  const res = await fetch(`${url}/terminals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 201) throw new Error(`create terminal: ${res.status} ${JSON.stringify(json)}`);
  return Number(json.id);
}

export async function closeTerminal(url, token, id) {
  await fetch(`${url}/terminals/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
}

/** Opens /ws; `onBinary(id, frame)` gets each binary frame, `onText(msg)` each text frame. */
export async function openWs(url, token, { onBinary = () => {}, onText = () => {} } = {}) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${token}`, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  ws.on('message', (data, isBinary) => {
    if (isBinary) onBinary(data[0], data);
    else onText(JSON.parse(data.toString()));
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}
