import { type AgentLifecycleEvent, encodeAgentEvent, parseAgentEvent, parseAgentEvents } from '@cove/protocol';
import { describe, expect, it } from 'vitest';

const ready: AgentLifecycleEvent = {
  type: 'ready',
  url: 'http://127.0.0.1:9990',
  listen: '0.0.0.0:9990',
  port: 9990,
  workdir: '/root',
  pid: 42,
  version: '0.1.0',
};
const reloaded: AgentLifecycleEvent = { type: 'token-reloaded' };
const failed: AgentLifecycleEvent = { type: 'token-reload-failed', error: 'token file /run/cove/token is empty' };

describe('agent lifecycle messages', () => {
  it('encodes one JSON line per message, type first, and parses it back', () => {
    for (const event of [ready, reloaded, failed]) {
      const line = encodeAgentEvent(event);
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(line.startsWith('{"type":')).toBe(true);
      expect(parseAgentEvent(line)).toEqual(event);
    }
    // Whatever order the writer gave the keys in.
    const reordered = { error: 'x', type: 'token-reload-failed' } as AgentLifecycleEvent;
    expect(encodeAgentEvent(reordered)).toBe('{"type":"token-reload-failed","error":"x"}\n');
  });

  it('ignores every line that is not a lifecycle message', () => {
    const garbage = [
      '',
      'cove agent ready on http://127.0.0.1:9990',
      '{"level":30,"time":1,"service":"cove-agent","msg":"token reloaded"}',
      '{"level":30,"type":"ready","msg":"a log record that happens to have a type"}',
      '{"type":"ready"',
      '{"type":"ready","url":"http://127.0.0.1:9990"}',
      '{"type":"ready","url":1,"listen":"0.0.0.0:9990","port":9990,"workdir":"/root","pid":42,"version":"0.1.0"}',
      '{"type":"token-reload-failed"}',
      '{"type":"shutdown"}',
      '{"type":null}',
      '[{"type":"token-reloaded"}]',
      '\u0000\u00ff{"type":"token-reloaded"}',
      'null',
    ];
    for (const line of garbage) expect(parseAgentEvent(line), line).toBeUndefined();
  });

  it('keeps only the known fields of a message', () => {
    expect(parseAgentEvent('{"type":"token-reloaded","token":"secret"}')).toEqual({ type: 'token-reloaded' });
  });

  it('finds the messages among log records and keeps the line still being written', () => {
    const text = [
      '{"level":30,"msg":"Server listening"}\n',
      encodeAgentEvent(ready),
      'not json at all\n',
      encodeAgentEvent(reloaded),
      encodeAgentEvent(failed).slice(0, 20),
    ].join('');
    const first = parseAgentEvents(text);
    expect(first.events).toEqual([ready, reloaded]);
    expect(first.rest).toBe(encodeAgentEvent(failed).slice(0, 20));
    const second = parseAgentEvents(first.rest + encodeAgentEvent(failed).slice(20));
    expect(second).toEqual({ events: [failed], rest: '' });
  });
});
