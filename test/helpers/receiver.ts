import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST a receiver was sent: the raw body and its signature header. */
export interface Received {
  body: string;
  signature: string | undefined;
}

/** A notification receiver the test runs (answers 204): every POST it was sent, in order. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Every body, parsed. */
  bodies(): Record<string, unknown>[];
  server: Server;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      received.push({ body, signature: req.headers['x-automod-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    bodies: () => received.map((r) => JSON.parse(r.body) as Record<string, unknown>),
    server,
  };
}
