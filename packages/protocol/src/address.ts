/** The uploader's TCP port since 2009. */
export const DEFAULT_PORT = 10234;
export const DEFAULT_HOST = '127.0.0.1';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `HOST:PORT`, `HOST`, `:PORT`, `PORT` or `[v6]:PORT` as given to `--uploader` or `--listen`;
 * a bare number is a port on 127.0.0.1, as `--status-listen 9100` is (no host name is all digits).
 * Throws a TypeError that names the option and what it got.
 */
export function parseHostPort(value: string, option = 'address'): HostPort {
  const v = value.trim();
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d{1,5}))?$/.exec(/^\d+$/.test(v) ? `:${v}` : v);
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || port < 0 || port > 65535) {
    throw new TypeError(`${option} must be HOST:PORT or PORT (e.g. 127.0.0.1:${DEFAULT_PORT}), got "${value}"`);
  }
  return { host: m[1] ?? (m[2] || DEFAULT_HOST), port };
}
