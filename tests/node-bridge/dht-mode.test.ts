import { describe, expect, it } from 'vitest'
import { dhtServer } from '../../node-bridge/node'
import { startRelay } from '../helpers/relay'
import { startBridge } from '../helpers/bridge'

describe('the bridge\'s DHT mode', () => {
  it('is a server only when it listens beyond loopback', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) expect(dhtServer(host)).toBe(false)
    for (const host of ['0.0.0.0', '::', '10.231.4.2', '192.168.1.20']) expect(dhtServer(host)).toBe(true)
  })

  it('a bridge on loopback (the default) is a client: no relay hands it out as a node to ask', async () => {
    const relay = await startRelay([])
    const bridge = await startBridge(relay)
    try {
      expect(bridge.bridge.node.services.dht.getMode()).toBe('client')
      expect(relay.relay.node.services.dht.getMode()).toBe('server')
    } finally {
      await bridge.close()
      await relay.close()
    }
  })
})
