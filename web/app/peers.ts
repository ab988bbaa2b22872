/**
 * One definition of a peer, said wherever the app counts them: another
 * browser tab or a bridge on someone's computer, never the server (the
 * relay and its HTTP). Counts say which peers they count: connected to
 * this tab (header, overlay), or holding a video (catalogue, watch page).
 */
export const PEER_MEANING = 'A peer is another browser tab or a bridge on someone\'s computer; the server is never counted as one.'
