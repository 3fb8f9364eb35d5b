import { badInput } from './errors';

/**
 * Text PostgreSQL cannot hold: U+0000 (text and jsonb refuse it), and UTF-16 surrogates that are
 * not paired (not Unicode, no UTF-8 form: jsonb refuses them, the embedded database's driver fails
 * on them in text, and the server's driver silently sends U+FFFD instead). A client string holding
 * either made its query fail as an unexpected database error (INTERNAL_SERVER_ERROR), so services
 * refuse it first, as BAD_USER_INPUT naming the field.
 */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * `value` itself when the database can store it; BAD_USER_INPUT otherwise, with `field` in its
 * details and `name` (default: the field) in its message.
 */
export function checkText(field: string, value: string, name = field): string {
  const found = UNSTORABLE.exec(value)?.[0];
  if (found === undefined) return value;
  const what =
    found === '\0'
      ? 'the NUL character (U+0000)'
      : `an unpaired UTF-16 surrogate (U+${found.charCodeAt(0).toString(16).toUpperCase()})`;
  throw badInput(`${name} contains ${what}: text must be valid Unicode without NUL characters`, { field });
}
