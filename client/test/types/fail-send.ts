// Does not compile: sends what the route does not take.
import { channelRoute, connect } from 'nitrous-client';

const room = channelRoute<{ id: string }, { text: string }, { user: string; text: string }>('/ws/room/{id}');
const channel = connect(room, { id: 'lobby' });
const other = { txt: 'typo' };
channel.send(other); // @expect TS2345
channel.send('just text'); // @expect TS2345
