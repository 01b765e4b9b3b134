// The simulator's public surface for the scenario runner and the CLI: simulate() in virtual time, startRelay() in
// real time, the network config types, observers, captures and the trace.

export { simulate, DEFAULT_CLIENT_ADDRESS, DEFAULT_SERVER_ADDRESS, type SimulateOptions, type SimulationResult, type SimulationOutcome } from './run.js';
export { startRelay, type Relay, type RelayOptions } from './relay.js';
export { startRelayThread, type ThreadRelayOptions } from './relay-thread.js';
export { Network, overridesFrom, parseLink, type NetworkConfig, type LinkSpec } from './network.js';
export { Link, SIMPLE_P2P, type LinkConfig } from './link.js';
export { Scheduler, type RunOutcome } from './scheduler.js';
export { classify, parseKind, matchesFilter, QUIC_V1, QUIC_V2, QUIC_V2_DRAFT, type Classification, type PacketInfo, type KindFilter } from './classify.js';
export { createImpairment, IMPAIRMENT_NAMES, type ImpairmentSpec, type Impairment } from './impairments/index.js';
export { Trace, canonicalLine, type TraceEntry } from './trace.js';
export { standardObservers, type WireObserver, type WireEvent, type KeyPhaseKeys, type ShortHeaderKeys } from './observers/index.js';
export { writePcapng, type PcapngOptions } from './capture/pcapng.js';
export { KeyLog, parseKeyLog, type KeyLogLine } from './capture/keylog.js';
export { CaptureRecorder, type CapturedDatagram } from './capture/recorder.js';
export type { Direction, PacketKind, Fate, Check, FateOverrides, FateDecision } from './types.js';
export { DIRECTIONS, isDropped } from './types.js';
