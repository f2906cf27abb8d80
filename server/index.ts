// Public surface of server/.
export { startServer, makeProvider, type RunningServer, type StartOptions } from './app.js';
export { loadConfig, type ServerConfig } from './config.js';
export { ErrorCodes, ProtocolError, type ErrorCode } from './errors.js';
export {
  encodeValidation,
  decodeValidation,
  validationHash,
  type ValidationSet,
} from './models/validation.js';
export { artifactHash, modelJson } from './models/artifact.js';
