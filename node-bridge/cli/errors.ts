/** A failure the CLI reports as one line and an exit code (1, or 2 for usage). */
export class CliError extends Error {
  static override name = 'CliError'
  override name = 'CliError'
  constructor (message = 'The command failed', readonly status?: number, readonly exitCode = 1) { super(message) }
}
