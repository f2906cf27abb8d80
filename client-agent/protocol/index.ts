// Protocol client: sign in, join, SecAgg+ rounds over Socket.IO.
export {
  ProtocolAgent,
  downloadMessage,
  ProtocolError,
  type AgentEvent,
  type AgentOptions,
  type Reward,
  type RoundStart,
  type TrainInput,
  type TrainOutput,
} from './agent.js';
