/** Dispatched on `window` (detail: the content id) once the player's `<video>` has its source. */
export const PLAYER_READY_EVENT = 'pipbingo:player-ready'
