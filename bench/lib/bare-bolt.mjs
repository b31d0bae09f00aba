// The footprint bench's baseline: the smallest Bolt HTTP app a team would write, with a /health
// route beside /slack/events, talking to the same Slack fake. Started the way the bot is
// (node, one process), so start-up time and memory compare like for like.
import bolt from '@slack/bolt';

const app = new bolt.App({
  token: process.env.SLACK_BOT_TOKEN,
  signingSecret: process.env.SLACK_SIGNING_SECRET,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
  customRoutes: [
    {
      path: '/health',
      method: ['GET'],
      handler: (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"healthy"}');
      },
    },
  ],
});
app.command('/dmp', async ({ ack }) => {
  await ack();
});
await app.start(Number(process.env.PORT));
process.once('SIGTERM', () => {
  app.stop().then(() => process.exit(0));
});
