import pg from 'pg';
import { adminUrl } from '../helpers/postgres';

/**
 * Says why the postgres project was skipped, if it was (under jest's summary, where it is read),
 * and drops this run's template and any test database a crashed test file left behind.
 */
export default async function globalTeardown(): Promise<void> {
  const skipped = process.env.MODELGATE_TEST_POSTGRES_SKIPPED;
  if (skipped) process.stderr.write(`\n${skipped}\n\n`);
  const runId = process.env.MODELGATE_TEST_RUN;
  if (!runId) return;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
      [`modelgate_t_${runId}_%`, `modelgate_tpl_${runId}`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
