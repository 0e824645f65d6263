// Uses the chat example's generated routes (examples/chat/src/server/routes.ts, copied beside this
// file by generated.test.mjs): what compiles, and each line marked `// @expect TSxxxx` fails so.
import { connect, events } from 'nitrous-client';
import { clock, room } from './routes.js';

const channel = connect(room, {});
channel.send({ text: 'hello' });
channel.send({ txt: 'typo' }); // @expect TS2561
channel.on('topic', (line) => {
  const user: string = line.user;
  const message: string = line.message;
  console.log(user, message, line.nick); // @expect TS2339
});
channel.request({ kind: 'who' }).then((answer) => {
  if (answer.kind === 'here') console.log(answer.members.map((m) => m.user).length);
  console.log(answer.members); // @expect TS2339
});
channel.request({ kind: 'dance' }); // @expect TS2322
events(clock, {}).on('message', (data) => {
  const text: string = data;
  console.log(text, data.toFixed(1)); // @expect TS2551
});
