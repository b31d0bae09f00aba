// The house rules of imports (issue: "Imports run one way"), checked in CI by `npm run deps`.
// Type-only imports count: a cycle through types is still a cycle for the reader.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No file depends on itself through others.', from: {}, to: { circular: true } },
    {
      name: 'bot-without-simulators',
      severity: 'error',
      comment: 'The bot never imports the simulators; tests, the bench and the sandbox do.',
      from: { path: '^src/' },
      to: { path: ['^sim/', '@dmp-bot/sim', '^sandbox/', '^test/', '^bench/'] },
    },
    {
      name: 'simulators-without-bot',
      severity: 'error',
      comment: 'The simulators speak wire formats; they know nothing of the bot.',
      from: { path: '^sim/' },
      to: { path: ['^src/', '^sandbox/', '^test/', '^bench/'] },
    },
    {
      name: 'runbooks-are-procedures',
      severity: 'error',
      comment: 'A runbook procedure returns findings; it knows no Slack glue, rendering, remediation flow or incident.',
      from: { path: '^src/runbooks/' },
      to: { path: '^src/(handlers|blocks|remediations|incidents|console)/|^src/(app|bot)\\.ts$' },
    },
    {
      name: 'domain-without-glue',
      severity: 'error',
      comment: 'Incidents and remediations are the domain: handlers call them, never the other way.',
      from: { path: '^src/(incidents|remediations)/' },
      to: { path: '^src/(handlers|console)/|^src/(app|bot)\\.ts$' },
    },
    {
      name: 'glue-points-inward',
      severity: 'error',
      comment: 'Handlers and commands are built by app.ts and bot.ts and never import them; commands call the domain, not handlers.',
      from: { path: '^src/(handlers|commands)/' },
      to: { path: '^src/(app|bot|main)\\.ts$' },
    },
    {
      name: 'commands-without-handlers',
      severity: 'error',
      comment: 'A command is parsed words to a domain call; the Slack glue calls it, not the other way.',
      from: { path: '^src/commands/' },
      to: { path: '^src/handlers/' },
    },
    {
      name: 'blocks-render-values',
      severity: 'error',
      comment: 'blocks/ turns domain values into Block Kit; it reads no store and calls no target.',
      from: { path: '^src/blocks/' },
      to: { path: '^src/(store|targets|handlers|console)/|^src/(app|bot)\\.ts$' },
    },
    {
      name: 'foundations-know-no-domain',
      severity: 'error',
      comment: 'Config, logging, metrics, errors and helpers sit under everything; the domain hands them what they report.',
      from: { path: '^src/(metrics|log|config|errors|redact|duration|async|backoff)\\.ts$' },
      to: { path: '^src/(incidents|remediations|runbooks|handlers|blocks|commands|console)/' },
    },
    {
      name: 'slack-only-in-glue',
      severity: 'error',
      comment: 'Only the Slack glue (handlers/, app.ts, bot.ts), blocks/ and console/ know Slack types.',
      from: { path: '^src/', pathNot: '^src/(handlers|blocks|console)/|^src/(app|bot)\\.ts$' },
      to: { path: 'node_modules/@slack/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
