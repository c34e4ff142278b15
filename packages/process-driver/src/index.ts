export { type DriverLog, ProcessDriver, type ProcessDriverOptions } from './process-driver.js';
