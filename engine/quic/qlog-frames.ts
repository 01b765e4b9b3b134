// qlog 0.3 frame representations (draft-ietf-quic-qlog-quic-events-04 §A.7.x) of the engine's QUIC frames.

import type { Frame } from './frames.js';
import type { QlogFrame } from './qlog.js';
import { hex } from '../wire/bytes.js';

export function qlogFrame(f: Frame): QlogFrame {
  switch (f.type) {
    case 'padding':
      return { frame_type: 'padding', payload_length: f.length };
    case 'ack':
      return { frame_type: 'ack', ack_delay: f.ackDelay, acked_ranges: [...f.ranges].reverse().map((r) => (r.smallest === r.largest ? [r.smallest] : [r.smallest, r.largest])) };
    case 'stream':
      return { frame_type: 'stream', stream_id: f.streamId, offset: f.offset, length: f.data.length, fin: f.fin };
    case 'crypto':
      return { frame_type: 'crypto', offset: f.offset, length: f.data.length };
    case 'reset_stream':
      return { frame_type: 'reset_stream', stream_id: f.streamId, error_code: f.errorCode, final_size: f.finalSize };
    case 'stop_sending':
      return { frame_type: 'stop_sending', stream_id: f.streamId, error_code: f.errorCode };
    case 'new_token':
      return { frame_type: 'new_token', token: { length: f.token.length } };
    case 'max_data':
      return { frame_type: 'max_data', maximum: f.maximum };
    case 'max_stream_data':
      return { frame_type: 'max_stream_data', stream_id: f.streamId, maximum: f.maximum };
    case 'max_streams':
      return { frame_type: 'max_streams', stream_type: f.bidi ? 'bidirectional' : 'unidirectional', maximum: f.maximum };
    case 'data_blocked':
      return { frame_type: 'data_blocked', limit: f.limit };
    case 'stream_data_blocked':
      return { frame_type: 'stream_data_blocked', stream_id: f.streamId, limit: f.limit };
    case 'streams_blocked':
      return { frame_type: 'streams_blocked', stream_type: f.bidi ? 'bidirectional' : 'unidirectional', limit: f.limit };
    case 'new_connection_id':
      return { frame_type: 'new_connection_id', sequence_number: f.sequence, retire_prior_to: f.retirePriorTo, connection_id: hex(f.connectionId), stateless_reset_token: hex(f.resetToken) };
    case 'retire_connection_id':
      return { frame_type: 'retire_connection_id', sequence_number: f.sequence };
    case 'path_challenge':
      return { frame_type: 'path_challenge', data: hex(f.data) };
    case 'path_response':
      return { frame_type: 'path_response', data: hex(f.data) };
    case 'connection_close':
      return { frame_type: 'connection_close', error_space: f.application ? 'application' : 'transport', error_code: f.errorCode, trigger_frame_type: f.frameType, reason: f.reason };
    case 'ack_frequency':
      // Field names as in draft-ietf-quic-qlog-quic-events (later revisions), which added the extension's frames.
      return { frame_type: 'ack_frequency', sequence_number: f.sequence, ack_eliciting_threshold: f.ackElicitingThreshold, request_max_ack_delay: f.requestedMaxAckDelayUs / 1000, reordering_threshold: f.reorderingThreshold };
    case 'ping':
    case 'handshake_done':
    case 'immediate_ack':
      return { frame_type: f.type };
  }
}
