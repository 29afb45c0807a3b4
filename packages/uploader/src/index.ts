/**
 * The uploader's public face, for the daemons' tests, the demo and the benchmarks (which run
 * it in-process): the composition, the pieces a test builds a rig from, and the pure models.
 * Internal helpers stay unexported; see LAYOUT.md for the folders.
 */
export { ENV_PREFIX, settingsFrom, stateDirFrom, uploaderParser, type UploaderArgs, type UploaderSettings } from './cli';
export { buildTargetStack, startUploaderService, type TargetStackOptions, type UploaderService, type UploaderServiceOptions } from './service';
export { IndexServer, type IndexServerOptions, type ListenAddress } from './ingest/index-server';
export { SegmenterConnection } from './ingest/segmenter-connection';
export { PayloadSpool, payloadSpoolDir } from './ingest/payload-spool';
export { connectionLimits, DEFAULT_CONNECTION_LIMITS, PeerConnections, type ConnectionLimits } from './access/connection-limits';
export { ConnectionGuard, MessageRate, REAL_GUARD_TIMERS, type GuardTimer, type GuardTimers, type IntakeRoom } from './access/connection-guard';
export { BacklogLimit, DEFAULT_MAX_QUEUED_MESSAGES } from './access/backlog-limit';
export { MessagePolicy } from './access/message-policy';
export { AllowedPaths } from './access/allowed-paths';
export { AllowedKeys, bucketNameProblem, fileNameProblem, keyPrefixProblem, parseBucketGrant } from './access/allowed-keys';
export { objectKey, streamId, streamKeyOf, type StreamKey } from './streams/stream-key';
export { StreamState } from './streams/stream-state';
export { MAP_PLAYLIST_VERSION, playlistVersion, renderMediaPlaylist, type MediaPlaylist } from './playlist/media-playlist';
export { newestPlaylistText, nextMediaSequence, parseMediaPlaylist } from './playlist/stored-playlist';
export { highestRun, recoverStream } from './streams/stream-recovery';
export { renderMasterPlaylist, type MasterPlaylist } from './playlist/master-playlist';
export { MasterState, RenditionMeter } from './playlist/master-state';
export { ANCHOR_STEP_TICKS, MasterTimeline, signedPtsDelta, TIMELINE_TOLERANCE_MS, type TimelineSnapshot } from './playlist/master-timeline';
export { TIMELINE_FILE } from './state/timeline-store';
export { DEFAULT_CONCURRENCY, DEFAULT_WINDOW, Uploader, type UploaderOptions } from './publish/uploader';
export { type MessageAccepted, type PlaylistStored, type SegmentGivenUp, type SegmentStored, type StreamSummary, type UploaderStats } from './publish/uploader-events';
export { StreamPublisher, type PersistedStream } from './publish/stream-publisher';
export { shouldPublishNow } from './publish/publish-decision';
export { KeyStore, type ContentKey } from './state/key-store';
export { createEncryptionWorkDir, encryptionWorkDir, encryptToMemory, paddedSize, WHOLE_SEGMENT_BYTES } from './publish/segment-encryption';
export { Journal, JOURNAL_FILE, readJournal, type JournalContents, type PendingMessage } from './state/journal';
export { GaveUpTransferError, PermanentTransferError, type PlaylistUpload, type SegmentUpload, type TransferTarget } from './targets/transfer-target';
export { describe, UploadQueue } from './targets/upload-queue';
export { backoffDelay, type RetryPolicy } from './targets/retry-policy';
export { FMP4_CONTENT_TYPE, S3Target, segmentContentType, type CannedAcl, type S3TargetOptions } from './targets/s3-target';
export { FileTarget, type FileTargetOptions } from './targets/file-target';
export { BufferPool } from './targets/buffer-pool';
export { parseTargetUrl, TargetUrlError, type TargetSpec } from './targets/target-url';
export { createTransferTarget } from './targets/create-target';
export { FtpTarget, type FtpTargetOptions } from './targets/remote/ftp-target';
export { hostKeyMatches, SftpTarget, sshFingerprint, sshMd5Fingerprint, type SftpTargetOptions } from './targets/remote/sftp-target';
export { MirrorTarget, type MirrorStats, type MirrorTargetOptions } from './targets/wrappers/mirror-target';
export { ConfinedTarget } from './targets/wrappers/confined-target';
export { MeteredTarget } from './targets/wrappers/metered-target';
export { ENDED_STREAM_RETENTION_MS, UploaderMetrics } from './ops/uploader-metrics';
export { estimateCost, formatCostEstimate, PRICES_2009, type Audience } from './ops/cost';
