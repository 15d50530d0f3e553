/**
 * Describes a database URL without its password, for log lines and error messages.
 * @example describeDatabaseUrl('postgres://u:secret@db:5432/app') // 'postgres://u@db:5432/app'
 */
export function describeDatabaseUrl(url: string): string {
  if (!URL.canParse(url)) return '(unparseable database URL)';
  const parsed = new URL(url);
  const user = parsed.username ? `${parsed.username}@` : '';
  return `${parsed.protocol}//${user}${parsed.host}${parsed.pathname}`;
}
