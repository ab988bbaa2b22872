/**
 * The V8 flags the relay and the bridge run with: `npm run relay`, `npm run
 * bridge` (package.json, which repeats them), `npm start` (start-all.ts),
 * the deployment examples of the README and the bench.
 *
 * `--max-semi-space-size=1`: V8's young generation capped at 1 MB
 * semi-spaces. Node sizes them up to 16 MB under a download's steady
 * allocations, memory held for objects that die young anyway; capped, the
 * bridge holds about 10 MB less at ready and peaks about 30 MB lower while it
 * downloads, at the same speed (docs/BENCHMARKS.md, the bridge's knob
 * experiment, which runs the download with Node's default for comparison).
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1']
