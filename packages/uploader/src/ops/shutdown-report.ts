/**
 * What a stopping uploader still waits for, in the fields its stop lines carry: the streams with
 * uploads left, the uploads that keep failing (what, key, attempts), the last error, and the
 * mirrors that lag behind. An operator who sent SIGTERM reads there why it has not exited yet.
 */
import type { Uploader } from '../publish/uploader';
import type { TransferTarget } from '../targets/transfer-target';
import { MirrorTarget } from '../targets/wrappers/mirror-target';

export interface ShutdownReport {
  streams: string;
  uploadsLeft: number;
  failing: string;
  lastError?: string;
  mirrorsBehind?: string;
}

export function shutdownReport(uploader: Uploader, target: TransferTarget): ShutdownReport {
  const b = uploader.backlog();
  const report: ShutdownReport = {
    streams: b.lanes.join(' ') || 'none',
    uploadsLeft: b.jobs,
    failing: b.failing.map((f) => `${f.what} ${String(f.context.key ?? '')} (${f.attempts} attempts)`).join('; ') || 'none',
  };
  if (b.failing.length > 0 && b.lastFailure) report.lastError = b.lastFailure.error;
  if (target instanceof MirrorTarget) {
    const behind = target.stats().filter((m) => m.backlog > 0);
    report.mirrorsBehind = behind.map((m) => `${m.name}: ${m.backlog} queued, ${m.failing} failing${m.lastError ? `, last error ${m.lastError}` : ''}`).join('; ') || 'none';
  }
  return report;
}

/** True while some upload (of the uploader or of a mirror) keeps failing: shutdown is waiting on the store. */
export function uploadsKeepFailing(uploader: Uploader, target: TransferTarget): boolean {
  return uploader.backlog().failing.length > 0 || (target instanceof MirrorTarget && target.stats().some((m) => m.failing > 0));
}
