/**
 * Where each daemon keeps what must survive a restart when no directory is given: a service
 * manager's state directory first (systemd's StateDirectory= sets $STATE_DIRECTORY; several are
 * colon-separated, the first is ours), else the per-user state path of the XDG Base Directory
 * specification: $XDG_STATE_HOME, else ~/.local/state. Pure: the environment comes in.
 */
import path from 'node:path';

/** The value of `--state-dir` / `--spool-dir` that turns the directory off. */
export const NO_DIR = 'none';

/**
 * `<state home>/hlsrelay/<daemon>`, or `$STATE_DIRECTORY` when `serviceManaged`; undefined when
 * the environment names no home at all (then the caller asks for an explicit directory).
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, daemon: string, options: { serviceManaged?: boolean } = {}): string | undefined {
  if (options.serviceManaged !== false) {
    const managed = env.STATE_DIRECTORY?.split(':')[0];
    if (managed) return managed;
  }
  const xdg = env.XDG_STATE_HOME;
  // The specification ignores a relative value.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'hlsrelay', daemon);
  if (env.HOME && path.isAbsolute(env.HOME)) return path.join(env.HOME, '.local', 'state', 'hlsrelay', daemon);
  return undefined;
}
