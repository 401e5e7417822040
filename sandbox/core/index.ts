export * from './app';
export * from './auth';
export * from './faults';
export * from './ids';
export * from './outbound';
export * from './request-log';
