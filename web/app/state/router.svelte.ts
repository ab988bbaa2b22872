/** The app's pages. Paths are real URLs: the relay answers any page path with index.html. */
export type Route =
  | { page: 'catalogue' }
  | { page: 'watch', contentId: string }
  | { page: 'publish' }
  | { page: 'downloads' }
  | { page: 'network' }
  | { page: 'settings' }
  | { page: 'chat', peerId?: string }
  | { page: 'missing', path: string }

export function parseRoute (path: string): Route {
  if (path === '/' || path === '') return { page: 'catalogue' }
  const watch = /^\/watch\/([0-9a-f]{64})\/?$/.exec(path)
  if (watch != null) return { page: 'watch', contentId: watch[1]! }
  // `/share`, not `/publish`: that path is the relay's API (POST /publish)
  if (/^\/share\/?$/.test(path)) return { page: 'publish' }
  const chat = /^\/chat(?:\/([1-9A-HJ-NP-Za-km-z]{40,60}))?\/?$/.exec(path)
  if (chat != null) return chat[1] == null ? { page: 'chat' } : { page: 'chat', peerId: chat[1] }
  const page = /^\/(downloads|network|settings)\/?$/.exec(path)?.[1]
  if (page != null) return { page } as Route
  return { page: 'missing', path }
}

/** History-API routing: links with `href`, `go()` for code, back and forward work. */
export class Router {
  route = $state.raw<Route>(parseRoute(location.pathname))

  constructor () {
    addEventListener('popstate', () => { this.route = parseRoute(location.pathname) })
    // same-origin links to app pages navigate in place, without a reload
    document.addEventListener('click', event => {
      const a = (event.target as Element | null)?.closest?.('a')
      if (a == null || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
      if (a.target !== '' || a.hasAttribute('download') || a.origin !== location.origin) return
      if (parseRoute(a.pathname).page === 'missing') return
      event.preventDefault()
      this.go(a.pathname + a.search)
    })
  }

  go (url: string, options: { replace?: boolean } = {}): void {
    if (options.replace === true) history.replaceState(null, '', url)
    else history.pushState(null, '', url)
    this.route = parseRoute(new URL(url, location.origin).pathname)
    if (options.replace !== true) scrollTo({ top: 0 })
  }
}
