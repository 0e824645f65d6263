// Compiles: the typed API used as the generated route file and an app would use it.
import WebSocket from 'ws';
import { EventSource } from 'eventsource';
import { channelRoute, connect, eventRoute, events, RequestError, type Channel, type Status } from 'nitrous-client';

type Chat = { text: string };
type Said = { user: string; text: string };
type Ask = { kind: 'who' };
type Who = string[];
type Refused = { reason: string };

// As the generated file declares routes:
const room = channelRoute<{ id: string }, Chat, Said, Ask, Who, Refused>('/ws/room/{id}');
const echo = channelRoute<Record<string, never>, string, string>('/ws/echo');
const news = eventRoute<{ topic: string }, { message: string; joined: { user: string } }>('/api/sse/{topic}');

const channel: Channel<Chat, Said, Ask, Who, Refused> = connect(room, { id: 'lobby' }, { url: 'ws://127.0.0.1:3000', WebSocket });
channel.send({ text: 'hello' });
channel.on('message', (said) => said.user.toUpperCase());
channel.on('topic', (said, { topic, offset }) => `${topic}@${offset ?? '-'}: ${said.text}`);
channel.on('gap', ({ topic, after, resumed_at }) => [topic, after, resumed_at]);
channel.on('notice', ({ code, message, id }) => [code, message, id]);
const off = channel.on('status', (status: Status, detail) => detail?.code ?? status);
off();

async function ask(): Promise<number> {
  try {
    const who: Who = await channel.request({ kind: 'who' }, { timeout: 500 });
    await channel.subscribe('room:lobby');
    await channel.unsubscribe('room:lobby');
    return who.length;
  } catch (error) {
    if (channel.isRequestError(error)) return error.err.reason.length;
    if (error instanceof RequestError) return 0;
    throw error;
  }
}
void ask;

const plain = connect(echo, {}, { WebSocket, backoff: { max: 5000 }, queueLimit: 10, requestTimeout: 1000, query: () => ({ token: 't' }) });
plain.send('text');
plain.on('message', (text) => text.length);
plain.close();

const stream = events(news, { topic: 'rust' }, { url: 'http://127.0.0.1:3000', EventSource, lastEventId: '1-1' });
stream.on('joined', ({ user }, id) => `${user} ${id}`);
stream.on('message', (text) => text.toUpperCase());
stream.close();
