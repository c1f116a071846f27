import { createServer } from 'node:net';
import { listenOnLoopback } from '../fakes/loopback-http.js';

/**
 * A loopback port nobody listens on: bound, then released. Connecting to it is refused (a server that is down),
 * and a server under test may listen on it next.
 */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return port;
}
