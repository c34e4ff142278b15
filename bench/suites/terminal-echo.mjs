// Keystroke echo round trip over `/ws`: one byte typed into a terminal running a raw-mode `cat`
// (what an editor does: the program reads the key and writes it back), timed until the byte
// comes back in a binary frame. Loopback, one key at a time. Target: p50 under 2 ms.
import { spawnAgent } from '../lib/agent.mjs';
import { percentile, ratio } from '../lib/stats.mjs';
import { closeTerminal, createTerminal, openWs } from '../lib/terminal-client.mjs';

export default {
  name: 'terminal-echo',
  description: 'keystroke echo round trip over /ws (raw-mode cat in a terminal), loopback',
  async run({ smoke, tmp, log }) {
    const samples = smoke ? 50 : 3000;
    const agent = await spawnAgent({ workdir: tmp });
    let id = -1;
    let waiting;
    const ws = await openWs(agent.url, agent.token, {
      onBinary: (frameId, frame) => {
        if (frameId === id && waiting && frame.includes(waiting.key, 1)) waiting.resolve(performance.now());
      },
    });
    const times = [];
    try {
      id = await createTerminal(agent.url, agent.token, { cmd: ['sh', '-c', 'stty raw -echo; echo ready; exec cat'] });
      await new Promise((r) => setTimeout(r, 300));
      /** Sends one key; resolves to the time its echo arrived. */
      const type = (key) =>
        new Promise((resolve) => {
          waiting = { key, resolve };
          ws.send(Buffer.from([id, key]));
        });
      for (let i = 0; i < samples + 20; i++) {
        const key = 0x61 + (i % 26);
        const start = performance.now();
        const end = await type(key);
        if (i >= 20) times.push(end - start); // the first keys warm up both ends
      }
    } finally {
      ws.close();
      await closeTerminal(agent.url, agent.token, id);
      await agent.close();
    }
    const p50 = percentile(times, 50);
    log(`p50 ${p50.toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms over ${times.length} keys`);
    return {
      figures: {
        keys: times.length,
        p50_ms: +p50.toFixed(3),
        p90_ms: +percentile(times, 90).toFixed(3),
        p99_ms: +percentile(times, 99).toFixed(3),
      },
      ratios: { echo_p50_ms: ratio(p50, 2, 'at_most') },
    };
  },
};
