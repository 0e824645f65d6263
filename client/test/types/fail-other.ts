// Does not compile: params, requests, replies and events the routes do not declare.
import { channelRoute, connect, eventRoute, events } from 'nitrous-client';

const room = channelRoute<{ id: string }, { text: string }, { user: string }, { kind: 'who' }, string[]>('/ws/room/{id}');
const echo = channelRoute<Record<string, never>, string, string>('/ws/echo');
const news = eventRoute<Record<string, never>, { joined: { user: string } }>('/api/sse/news');

connect(room, { room: 'lobby' }); // @expect TS2353
const channel = connect(room, { id: 'lobby' });
channel.request({ kind: 'kick' }); // @expect TS2322
const count: Promise<number> = channel.request({ kind: 'who' }); // @expect TS2322
connect(echo, {}).request('no request hook'); // @expect TS2345
channel.on('mesage', () => {}); // @expect TS2345
events(news, {}).on('left', () => {}); // @expect TS2345
events(news, {}).on('joined', ({ name }) => name); // @expect TS2339
void count;
