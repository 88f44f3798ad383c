// The package's subpath exports.
import { WebSocket as WebSocketWeb, CloseEvent } from 'hyperws/web';
import { listen } from 'hyperws/app-kit';
import { RedisAdapter, redisAdapter } from 'hyperws/redis';

const w = new WebSocketWeb('ws://localhost');
w.addEventListener('close', (e) => {
  const ce: CloseEvent = e as CloseEvent;
  void ce.code;
});
void [listen, RedisAdapter, redisAdapter];
