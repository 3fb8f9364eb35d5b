import { execFileSync } from 'node:child_process';

/** Runs git in `cwd` with a fixed identity (tests commit without any user config); returns its trimmed output. */
export function gitIn(cwd: string): (...args: string[]) => string {
  return (...args) =>
    execFileSync('git', args, {
      cwd,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    })
      .toString()
      .trim();
}
