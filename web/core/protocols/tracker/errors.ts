export class TrackerRequestError extends Error {
  static override name = 'TrackerRequestError'
  override name = 'TrackerRequestError'
  constructor (message = 'The tracker refused the request') { super(message) }
}

export class TrackerUnreachableError extends Error {
  static override name = 'TrackerUnreachableError'
  override name = 'TrackerUnreachableError'
  constructor (message = 'The tracker could not be reached') { super(message) }
}
