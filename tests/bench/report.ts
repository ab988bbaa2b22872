import type { MachineInfo } from './lib/machine'

export interface ReportInput {
  machine: MachineInfo
  runs: number
  seconds: number
  /** The rendered table (table.ts), notes included. */
  table: string
}

/** docs/BENCHMARKS.md: regenerated whole on every `npm run bench`. */
export function renderReport ({ machine, runs, seconds, table }: ReportInput): string {
  const pkgs = Object.entries(machine.packages).map(([n, v]) => `${n} ${v}`).join(', ')
  return `# Benchmarks

Written by \`npm run bench\` (\`tests/bench/main.ts\`). Do not edit: every run
rewrites this file whole. The figures below are from the run described here.

- Date: ${machine.date}
- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM
- Node: ${machine.node}
- Stack: ${pkgs}
- ${runs} runs per measurement; the whole bench took ${Math.round(seconds)} s

## How to read the table

- MB = 10^6 bytes. A value is the **median** of the runs, with the smallest and
  largest in brackets.
- A **baseline** is measured in the same run, side by side with the figure it
  is compared with, never taken from an earlier run or another machine. The
  **ratio** is value / baseline, computed per run (both were measured under the
  same conditions) and then summarised as median (min–max). On a noisy
  2-core machine the ratio is the figure to trust more than either speed.
- A **target** says which of value or ratio it checks; **met** is whether the
  median meets it. A target not met is a finding, not a failure of the bench.
- Rows marked *(extra)* are not what a client runs (knob experiments,
  diagnostics): they explain the figures, they are not the figures.
- The Node suites run on loopback (127.0.0.1) in **one Node process**: the relay,
  the peers and the HTTP client share one main thread (and the machine's
  cores with libuv's threads, the disk and the kernel). A figure and its
  baseline always run in that same arrangement, so the ratios compare like
  with like; the notes give how busy the main thread was and how much CPU each
  measurement took, to tell CPU-bound from waiting.
- Every download is checked byte for byte (SHA-256 of the completed file
  against the source) outside the timing; a run that moves wrong bytes fails
  the bench.

## The rows

**origin-download** — a Node peer fetches a 256 MiB file of pseudo-random
bytes from the origin (a real relay, \`createRelay\`, ephemeral ports).
- (a) the product's path: a \`SwarmSession\` with the relay's tracker as its
  locator and **no HTTP fallback**, so every byte comes over libp2p TCP +
  noise + yamux from the relay's chunk server, and is verified and written by
  an \`FsChunkStore\` in a temporary folder (what the bridge uses). Timed from
  \`start()\` to \`done\`.
- (b) the ceiling of that path: a bare libp2p stream from the relay's node to
  the same peer over the same connection, 256 MiB in 256 KiB pieces, counted
  but not stored. (a)/(b) is how much of the transport the session delivers;
  the target is **≥ 0.7**.
- (c) plain HTTP: \`GET /videos/<file>\` from the relay's HTTP server with
  Node's fetch, written to disk and flushed. (a)/(c) is informational: what
  libp2p costs against the simplest way to move the same bytes.
- Diagnostics *(extra)* split (a) into layers, each adding one part of it to
  the one before, all over the same connection as (b): d1 the chunk protocol
  alone (the product's \`ChunkServer\` over a \`MemoryChunkStore\` on the relay's
  node under a throw-away protocol id, 16 requests in flight like the session at most,
  data dropped); d2 the same from the relay's real chunk server, whose
  \`FsChunkStore\` opens, reads and re-verifies every chunk it serves; d3 the
  whole session into a \`MemoryChunkStore\` (no client disk). The note on (a)
  lists each layer's ratio to (b) and names the largest loss.
- Knob experiments *(extra)*: (a) again with one of the session's knobs
  (\`peerSlots\`, \`criticalWindowBytes\`) changed, on a fresh peer and store.

**offload** — a real relay holds a 64 MiB file; 5 Node peers (tracker = the
relay, HTTP fallback on, as a client has it) join one after another (peer k
starts when peer k−1 completed and its announcement settled) and stay online
seeding. The value is what the origin served over all paths (relay
\`/metrics\`: \`pipbingo_libp2p_bytes_served_total\` +
\`pipbingo_http_bytes_served_total\`) divided by the file size; the target is
**≤ 1.2** (ideally 1.0: the origin sends each byte once). The baseline is 5
plain HTTP downloads, measured the same way (5.0); the ratio is the part of
the plain-HTTP load the origin still carries.

**flash-crowd** — issue 10's flash crowd: Node peers (as in offload, each
with its own libp2p node, FsChunkStore and announcer; HTTP fallback on) in
several child processes (\`node --import tsx tests/bench/lib/crowd-worker.ts\`,
driven over an IPC channel), against a real relay in the bench's process
whose library alone holds the file. 30 peers in 3 processes on a 64 MiB file,
and 100 peers in 5 processes on a 16 MiB one, all join within 4 s (evenly
spread). The value is what the origin served over all paths (relay
\`/metrics\` deltas, libp2p + HTTP) divided by the file size; the target is
**≤ 1.5** (the aim: 1.1). The baseline is the same peers joining one after
another (each once the one before completed and announced), about 1.0.
Further rows: each peer's share from other peers (median; the minimum in the
notes) and first join → last completion. The notes say why the origin sent
what it sent: how many times each chunk came from it, the origin policy's
reason when those chunks landed, when peers first saw and reached each
other, failed dials and their errors, the event-loop delay of the peer
processes. Each phase runs once per bench (\`--runs\` is not applied), every
completed file is hashed against the source, a phase that stores no chunk
for 90 s or outlasts its limit fails, and no child outlives the bench.

**relays** — issue 11's network of relays: three real relays (\`createRelay\`,
loopback, in the bench's process) joined into one Kademlia DHT
(\`/pipbingo/kad/1.0.0\`) by dialling each other, as \`--peer-relay\` does.
(1) A client built as a bridge is (the DHT as a server, a tracker client),
connected to relay C only, asks the DHT alone (\`DhtLocator.findProviders\`,
what \`CombinedLocator\` waits for beside the tracker) for 30 distinct videos
only relay A's library holds, one after another: no answer is a cached one,
but the routing table is warm after the first lookup (its time is in the
notes). The value is the median time of a whole lookup (until the query
ends, not the first provider), the baseline the same client's finds on its
own relay's tracker for 30 videos of C's library; there is no target. A fresh
network and client per run. (2) 60 flash-crowd peers in 3 processes fetch a
16 MiB file only relay A's library holds, 20 attached to each relay (their
tracker), each asking its tracker and the DHT through a \`CombinedLocator\` as
the bridge builds it; peers on B and C have no HTTP fallback (a client of B
would not know A's HTTP address), peers on A keep it. The joins are spread
over 4 s. The value is relay A's bytes served (\`/metrics\`, libp2p + HTTP)
divided by the file size; the target is **≤ 1.5**. The baseline is the same
60 peers all on relay A (flash-crowd's case, with the DHT), in the same run.
The notes say, by relay, what its peers took from the origin, from peers of
their own relay and from peers of the others, and how many swarm members
their finds named. Each phase runs once per bench; every file is hashed
against the source; a phase that stores no chunk for 90 s or outlasts 10
minutes fails.

**hostile-soak** — issue 14's soak: 50 normal Node peers (the flash-crowd's
peers, in 3 processes) download an 8 MiB file from a relay whose library
holds it, joining one every 2 s, while 10 rogue peers in a fourth process
(\`tests/bench/lib/hostile-worker.ts\`) run the hostile-peer tests'
attacks against that relay for 2 minutes: pipelines never read, HAVE floods,
resets mid-frame, tracker floods, 300 streams, malformed frames. The
baseline is the same peers and joins without attackers, in the same run.
Every file is hashed against the source and the relay must still answer
\`/health\`; the rows are the normal peers' median download time (target:
at most twice the baseline) and the peak RSS (VmHWM) of the relay, which
runs in a process of its own as \`npm run relay\` starts it, with
\`--inbound-per-host 1000\` so that the per-host limit does not throttle
the attackers (all of them come from 127.0.0.1). Once per bench (\`--runs\` is not
applied); the rogue process exits by itself 30 s after its 2 minutes.

**browser** — real Chromium processes (Debian's, headless) against a real
relay serving the built web app; each tab is a peer (WebRTC between tabs,
IndexedDB, the service worker). Tabs run in their own browser processes, so
these rows do not share the Node process's main thread; the two cores are
shared by everything. Rows: tab → tab throughput over libp2p WebRTC for
64 MiB against a raw \`RTCDataChannel\` between the same two pages (the
ceiling, target ratio **≥ 0.8**); navigation → \`playing\` for a video another
tab holds (target **≤ 1.5 s**) and seek → \`playing\` (target **≤ 0.5 s**), each
next to a plain \`<video src=/videos/...>\` page from the origin; navigation →
the catalogue's first card on a first visit (target **≤ 1 s**), next to a
minimal page that fetches \`/list\`; and what the
origin serves when 4 tabs watch one after another (target **≤ 1.2 ×** the
file, baseline 4 plain plays). WebRTC between tabs uses host candidates on
veth addresses of network namespaces the bench sets up (Chromium gathers
no loopback candidates); the packets never leave the machine. Each row's notes say how
it was measured.

**second-viewer** — issue 10's second viewer: a playable ~30 MB video (3 min
of 720p H.264/AAC, made once by \`tests/bench/lib/fixture-video.ts\` with
ffmpeg, which the bench then needs: \`apt-get install -y ffmpeg\`; cached
under \`.tmp/fixtures/\`) in the relay's library; tab A, in its own Chromium
process, has played it to the end. 20 trials, each a fresh
Chromium process B in a network namespace of its own (a first visit) that
navigates to \`/?play=<video>\` and plays until its stats say the video is
complete: B's share of bytes from peers (target median **≥ 90 %**, worst
**≥ 50 %**), in how many trials B reached A over a direct WebRTC connection
(target **20 of 20**), and the session's time to the first peer byte. Baseline
in the same run, before A fetched the video: 3 trials done the same way when
only the origin holds it (what the origin serves, and how long the fetch
takes). The trials stop starting after 10 minutes, and the rows say so.

**bridge** — the bridge daemon as a child process (\`node --import tsx
node-bridge/main.ts\`, what \`npm run bridge\` runs) against a real relay: its
peak resident memory (VmHWM from /proc) while downloading a 1 GiB content
(target **≤ 100 MB**, the seed's figure; the RSS at ready beside it), the time
from spawn to ready (health OK and relay connected; target **≤ 1 s**; beside
it a bare \`node -e ''\` and the relay's own start-up), and \`GET /stream\` from
the cache against reading the same file with \`fs.createReadStream\` (the
ceiling) and a plain Node HTTP server sending it.

**ipc** — the bridge's JSON-lines IPC (the one on 8889; here every port is
ephemeral) with three real bridges (\`createBridge\`, in this process) and a
real relay on loopback. Alice is connected directly (TCP + noise + yamux) to
Bob and to Carol; Alice and Carol ran \`negotiate_keys\` first, so everything
between them is sealed (X-Wing session, AES-256-GCM per frame) while Alice ↔
Bob stays in clear. Each group below runs in every run, in a rotating order.
No targets: the issue asks for figures and ratios.
- Request rate: \`{"command":"status"}\` on Alice's IPC, each connection
  keeping 16 requests in flight (one more written per reply, every reply
  parsed), on one connection and on 50 at once, against a trivial JSON-lines
  echo server in the same process driven by the same client the same way (the
  ceiling of Node's TCP and JSON framing); a diagnostic pads the echo's
  replies to a status reply's size, to tell bytes from the IPC's own work.
- Message latency: 500 messages one after another, \`send_message\` written on
  Alice's IPC → \`p2p_message_received\` read on the receiver's IPC client,
  p50 and p99, clear (→ Bob) and sealed (→ Carol), against libp2p ping between
  the same two nodes over the same connection (wall time of \`ping()\`: a new
  stream and 32 bytes there and back, as each chat message opens a stream).
- File transfer: \`send_file\` of a 64 MiB file of pseudo-random bytes,
  \`chunk_size\` 8192 (the seed's), left out (64 KiB, what the CLI sends) and
  262144 *(extra)*, clear and sealed, timed from the request to its reply
  \`File sent\` (the receiver verified and stored the file; the stored copy is
  hashed again outside the timing), against the bare libp2p stream pump of
  origin-download (256 KiB pieces, counted not stored) from Alice's node to
  the same peer over the same connection.

\`npm run bench\` runs everything and rewrites this file; \`npm run bench --
--only <suite>[,<suite>]\` or \`--runs <n>\` print the table without writing
it. The exit code is 1 only when a suite failed (an error, wrong bytes), not
when a target is missed.

## Results

${table}
`
}
