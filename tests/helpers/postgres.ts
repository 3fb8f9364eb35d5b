/** The server the postgres test project uses; databases are created and dropped per run and file. */
export function adminUrl(): string {
  return process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
}

/** adminUrl() without its password, for messages. */
export function shownAdminUrl(): string {
  try {
    const url = new URL(adminUrl());
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(TEST_PG_ADMIN_URL is not a URL)';
  }
}

export function databaseUrl(database: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${database}`;
  return url.toString();
}
