import type { Circus } from '@jest/types';
import { TestEnvironment } from 'jest-environment-node';

/**
 * The postgres project's test environment: node's, except that when global-setup.ts skipped the
 * project (no server, or MODELGATE_TEST_POSTGRES=off) every test of the file is marked skipped as
 * the run starts. Jest then reports them as skipped rather than passed, and runs none of their
 * hooks (a describe block without an enabled test runs no beforeAll), so nothing opens a database.
 */
export default class PostgresEnvironment extends TestEnvironment {
  handleTestEvent(event: Circus.Event, state: Circus.State): void {
    if (event.name !== 'run_start' || !process.env.MODELGATE_TEST_POSTGRES_SKIPPED) return;
    const skip = (block: Circus.DescribeBlock): void => {
      for (const child of block.children) {
        if (child.type === 'describeBlock') skip(child);
        else if (child.mode !== 'todo') child.mode = 'skip';
      }
    };
    skip(state.rootDescribeBlock);
  }
}
