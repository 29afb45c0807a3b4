/**
 * What the uploader tells its watchers (metrics, status, tests): the events a StreamPublisher
 * emits as its messages go through, and the summaries the registry gives on request.
 */
import type { StreamKey } from '../streams/stream-key';

/** Emitted as `playlist-stored` once a playlist PUT succeeded (readers see it from now on). */
export interface PlaylistStored {
  stream: string;
  key: StreamKey;
  mediaSequence: number;
  lastSegment: number | undefined;
  ended: boolean;
  /** Clock readings at which the messages this playlist publishes for the first time arrived. */
  arrivals: number[];
  storedAt: number;
}

/** Emitted as `message-accepted` for every message taken into a stream's queue. */
export interface MessageAccepted {
  stream: string;
  peer: string;
  segment: number;
  arrivedAt: number;
}

/** Emitted as `segment-given-up`: a segment upload that kept failing until the give-up time, left out of the playlist. */
export interface SegmentGivenUp {
  stream: string;
  segment: number;
  key: string;
  /** The target's name, as MeteredTarget counts it. */
  target: string;
  /** The last attempt's error. */
  error: string;
}

/** Emitted as `segment-stored` once a segment is in the store (before the playlist lists it). */
export interface SegmentStored {
  stream: string;
  segment: number;
  key: string;
  storedAt: number;
}

/** One stream as `/status` shows it. */
export interface StreamSummary {
  stream: string;
  bucket: string;
  keyPrefix: string;
  index: string;
  lastSegment: number | undefined;
  mediaSequence: number;
  ended: boolean;
  /** Messages of this stream waiting behind the one being handled. */
  queued: number;
}

export interface UploaderStats {
  messages: number;
  segmentsStored: number;
  segmentsSkipped: number;
  playlistsStored: number;
  retries: number;
  queued: number;
  streams: number;
}

/** The counters every stream adds to; the registry reports them with the queue's. */
export type PublishCounters = Pick<UploaderStats, 'messages' | 'segmentsStored' | 'segmentsSkipped' | 'playlistsStored'>;
