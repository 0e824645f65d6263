// Does not compile: reads a field the route's outgoing type lacks.
import { channelRoute, connect } from 'nitrous-client';

const room = channelRoute<{ id: string }, { text: string }, { user: string; text: string }>('/ws/room/{id}');
const channel = connect(room, { id: 'lobby' });
channel.on('message', (said) => said.body); // @expect TS2339
channel.on('topic', (said) => said.user.foo); // @expect TS2339
