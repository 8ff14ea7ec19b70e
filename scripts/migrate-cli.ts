// npm run migrate: applies migrations/ to DATABASE_URL (Neon in production, any Postgres locally).
import { migrate } from './stack/migrate.ts';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is required');
  process.exit(1);
}
const applied = await migrate(url, (s) => console.log(s));
console.log(applied.length ? `${applied.length} migration(s) applied` : 'schema is up to date');
