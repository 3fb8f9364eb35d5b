import { globalSetup } from './global-setup';

export default () => globalSetup('pglite');
