export { iceServerSchema, relayIceSchema, type RelayIce } from './info'
export { RelayIceServers, type RelayIceServersInit } from './ice-servers'
export { ICE_REFRESH_WITHOUT_TTL_MS, iceExpiresAt, iceRefreshAt } from './refresh'
