/**
 * When a stream's playlist goes up. Later messages of the stream already waiting in its lane
 * will store their segments first and one playlist PUT then publishes them all — fewer PUTs
 * under load, the same playlist in the end — unless that would hold back a whole window.
 */
export const shouldPublishNow = (waitingInLane: number, unpublished: number, window: number): boolean =>
  waitingInLane === 0 || unpublished >= window;
