export * from './kubernetes-object';
export * from './platform-component';
// The promotion guard's input and error, for AiaasPlatformArgs.previousOutput.
export { PreviousOutput, PromotionRefusedError } from '../constructs/promotion-guard';
