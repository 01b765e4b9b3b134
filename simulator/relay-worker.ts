// Worker-thread entry for relay-thread.ts: runs one relay and, when told to stop, sends back its final state.

import { parentPort, workerData } from 'node:worker_threads';
import { startRelay, type Relay } from './relay.js';
import type { RelayWorkerMessage, ThreadRelayOptions } from './relay-thread.js';

const post = (m: RelayWorkerMessage) => parentPort!.postMessage(m);

startRelay(workerData as ThreadRelayOptions).then(
  (relay: Relay) => {
    post({ type: 'ready', address: relay.address });
    parentPort!.once('message', async () => {
      try {
        await relay.stop();
        post({
          type: 'stopped',
          snapshot: {
            trace: relay.trace(),
            traceText: relay.traceText(),
            traceHash: relay.traceHash(),
            checks: relay.checks(),
            metrics: relay.metrics(),
            decisions: relay.decisions(),
            clients: relay.clients(),
            ...(relay.capture ? { capture: relay.capture.datagrams } : {}),
          },
        });
      } catch (e) {
        post({ type: 'failed', message: `relay: ${(e as Error).message}` });
      }
    });
  },
  (e: Error) => post({ type: 'failed', message: e.message }),
);
