// typescript-eslint's recommended rules; Prettier owns formatting.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'src/db/generated/', 'tests/fixtures/', 'models/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
);
