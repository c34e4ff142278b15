import { constants } from 'node:os';

/** Signal numbers, for the shell convention of exiting with 128 + N. */
export const SIGNAL_CODES: Partial<Record<NodeJS.Signals, number>> = constants.signals;
