import { AppError } from '@cove/protocol';
import { describe, expect, it } from 'vitest';
import { AddressPlan } from '../src/addresses.js';

describe('AddressPlan', () => {
  it('hands out the lowest free address after the host side', () => {
    const plan = new AddressPlan('10.87.251.0/28');
    expect(plan.hostAddress).toBe('10.87.251.1');
    expect(plan.allocate(new Set())).toBe('10.87.251.2');
    expect(plan.allocate(new Set(['10.87.251.2', '10.87.251.4']))).toBe('10.87.251.3');
  });

  it('a full subnet is a capacity limit: 503 no_free_address, not an internal error', () => {
    const plan = new AddressPlan('10.87.251.0/28');
    const used = new Set<string>();
    for (let i = 0; i < plan.capacity; i++) used.add(plan.allocate(used));
    // Every host address but the network's, the host side's and the broadcast was given out.
    expect(used.size).toBe(13);
    expect([...used].at(-1)).toBe('10.87.251.14');
    let thrown: unknown;
    try {
      plan.allocate(used);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AppError);
    expect((thrown as AppError).status).toBe(503);
    expect((thrown as AppError).toBody()).toEqual({
      success: false,
      code: 'no_free_address',
      error: 'no free address left in the workspace subnet 10.87.251.0/28 (13 workspaces); delete a workspace or choose a larger subnet',
    });
  });
});
