export * from './index-message';
export * from './framing';
export * from './address';
