export * from './kubernetes-object';
export * from './platform-component';
