// An event-stream origin built on sse-channel (node:http on 127.0.0.1) for tests/sse_peers.rs.
// The stream, its history and the replay after Last-Event-ID are sse-channel's; this script
// only feeds the channel and breaks connections when told.
//
// Environment: PEER_RETRY_MS (the channel's retryTimeout), PEER_PING_MS (its pingInterval).
// stdin, one command a line:
//   send ID DATA...  publish an event of type "tick" (kept in the history)
//   end              end every open response cleanly (the chunked body finishes)
//   break ID DATA    write half an event to every connection, then destroy its socket
// stdout, one line each: "port N"; "connect MS LAST-EVENT-ID" per request ("-" when none);
// "sent ID to N" (N: connections in the channel then); "ended MS N"; "broken N"; "closed N" when a
// connection closed (N: connections left). MS: Unix ms.
// end and break take the connections out of the channel first, so a send on the next line goes
// to the history only.
'use strict';

const http = require('node:http');
const readline = require('node:readline');
const SseChannel = require('sse-channel');

const channel = new SseChannel({
  retryTimeout: Number(process.env.PEER_RETRY_MS || 0) || null,
  pingInterval: Number(process.env.PEER_PING_MS || 0) || 20000,
  historySize: 100,
});
const open = new Set();

const server = http.createServer((req, res) => {
  console.log(`connect ${Date.now()} ${req.headers['last-event-id'] || '-'}`);
  open.add(res);
  res.on('close', () => {
    open.delete(res);
    channel.removeClient(res);
    console.log(`closed ${open.size}`);
  });
  channel.addClient(req, res);
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, id, ...rest] = line.split(' ');
  const data = rest.join(' ');
  if (cmd === 'send') {
    const to = channel.getConnectionCount();
    channel.send({ id: Number(id), event: 'tick', data });
    console.log(`sent ${id} to ${to}`);
  } else if (cmd === 'end') {
    const n = open.size;
    for (const res of open) {
      channel.removeClient(res);
      res.end();
    }
    console.log(`ended ${Date.now()} ${n}`);
  } else if (cmd === 'break') {
    const n = open.size;
    for (const res of open) {
      channel.removeClient(res);
      const half = `id: ${id}\nevent: tick\ndata: ${data.slice(0, data.length >> 1)}`;
      res.write(half, () => res.socket.destroy());
    }
    console.log(`broken ${n}`);
  }
});
process.stdin.on('end', () => process.exit(0));

server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
