// Free loopback ports for real-peer servers. The OS picks one (bind to port 0); ports handed out recently are not
// handed out again, so parallel cells in one process never share a port even before their servers bind.

import { createSocket } from 'node:dgram';

const recent: number[] = [];
const RECENT = 512;

function probe(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

export async function allocatePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await probe();
    if (recent.includes(p)) continue;
    recent.push(p);
    if (recent.length > RECENT) recent.shift();
    return p;
  }
  throw new Error('no free UDP port on 127.0.0.1');
}
