/**
 * createWebSocketStream(ws): a Node Duplex over a WebSocket, as in ws.
 * Each message becomes a readable chunk (Buffer; strings for text messages
 * in readable object mode); each written chunk is sent as one message.
 * Backpressure flows both ways: a full readable buffer pauses the socket.
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { ReadyState } from './ready-state.js';
import { driverOf, type WebSocket } from './websocket.js';

export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  let terminateOnDestroy = true;
  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
  });
  const readableObjectMode = duplex.readableObjectMode;

  ws.on('message', (message: Buffer, isBinary: boolean) => {
    const chunk = !isBinary && readableObjectMode ? message.toString() : message;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once('error', (error: Error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });

  duplex._destroy = (error, callback) => {
    if (ws.readyState === ReadyState.CLOSED) {
      callback(error);
      process.nextTick(() => duplex.emit('close'));
      return;
    }
    let called = false;
    ws.once('error', (e: Error) => {
      called = true;
      callback(e);
    });
    ws.once('close', () => {
      if (!called) callback(error);
      process.nextTick(() => duplex.emit('close'));
    });
    if (terminateOnDestroy) ws.terminate();
  };

  duplex._final = (callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._final(callback));
      return;
    }
    const socket = driverOf(ws)?.stream ?? null;
    if (socket === null) return;
    if (socket.writableFinished) {
      callback();
      if (duplex.readableEnded) duplex.destroy();
    } else {
      socket.once('finish', () => callback());
      ws.close();
    }
  };

  duplex._read = () => {
    if (ws.isPaused) ws.resume();
  };

  duplex._write = (chunk, encoding, callback) => {
    if (ws.readyState === ReadyState.CONNECTING) {
      ws.once('open', () => duplex._write(chunk, encoding, callback));
      return;
    }
    ws.send(chunk, callback);
  };

  duplex.on('end', () => {
    if (!duplex.destroyed && duplex.writableFinished) duplex.destroy();
  });
  duplex.on('error', function onError(this: Duplex) {
    this.removeListener('error', onError);
    this.destroy();
    if (this.listenerCount('error') === 0) this.on('error', () => {});
  });
  return duplex;
}
