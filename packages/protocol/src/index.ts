export * from './index-message';
export * from './framing';
export * from './address';
export * from './session';
export * from './record-framing';
export * from './settings-sources';
export * from './segment-payload';
export * from './shared-token';
