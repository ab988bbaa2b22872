import type { LowShareReason } from '../../../peer/tab-stats'

/** Why peers carry little or none of the video, in the words the overlay shows. */
export function lowShareText (why: LowShareReason): string {
  switch (why) {
    case 'p2p-off': return 'Peer-to-peer is off (Settings): everything comes from the server.'
    case 'finding': return 'Looking for peers that have this video…'
    case 'no-holder': return 'Nobody else is sharing this video right now: it comes from the server.'
    case 'connecting': return 'Connecting directly to the peers that have this video…'
    case 'relayed': return 'Only a relayed path to the peers that have this video: the direct connection failed, retrying.'
    case 'busy': return 'The peers that have this video are busy: the server fills in.'
  }
}
