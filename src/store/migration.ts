// One schema change of the bot store; migrations.ts and incident-migrations.ts list them.
export interface Migration {
  id: number;
  name: string;
  sql: string;
}
