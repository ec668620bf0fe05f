// Package coordinator is the cluster brain of Chopsticks: which node runs
// which gateway shard and voice agent ("units"), who leads, and when a shard
// may IDENTIFY. etcd is the only authority; memberlist gossip (Gossip) only
// speeds up liveness and spreads load figures.
//
// # Pieces
//
//   - Plan (plan.go): a pure function from (live nodes with weights, units,
//     current owners) to owners. Per kind, every node ends within one unit
//     of its weighted share and the fewest units move.
//   - Member (Join, member.go): registers the node, takes part in the
//     election, plans when leader, claims and runs units through an Owner,
//     drains on SIGTERM, and reports Status. member.go holds its Config,
//     Join, SetUnits, Drain and Close; each further job has its own file
//     below.
//   - epoch.go: each lease of the member (an epoch), the registration under
//     it, and the stop of every unit when it is lost (Serving).
//   - lease.go: one etcd lease kept alive, with the local watchdog.
//   - leader.go: the election on the epoch's lease and the fenced plan write.
//   - reconcile.go: the view follows etcd; the units follow the plan and the
//     owner keys (claim, start, hand off, release).
//   - failover.go: proves a suspected peer dead and revokes its lease.
//   - view.go, keys.go: the etcd documents and key layout as the member
//     reads them.
//   - status.go, readiness.go, metrics.go: what a member reports.
//   - reshard.go: changes the shard count while the cluster serves (a
//     second generation, the fenced switch, abort); shards.go changes it
//     for a cold restart.
//   - Gate (gate.go): one IDENTIFY per max_concurrency bucket per window,
//     cluster-wide, in shard order within a bucket, with a reserve of the
//     daily budget.
//   - Gossip (gossip.go): memberlist with the node's ID, address, weight and
//     load, plus an opaque settings digest that peers compare (the caller
//     words a difference); it keeps joining the peers etcd lists until it
//     has met them all.
//   - liveness.go: a liveness stream to every peer on the gossip port; it
//     suspects dead peers within about a second (a killed process within
//     milliseconds).
//
// # Keys (under Prefix, default /chopsticks)
//
//	nodes/<id>                  registration {id, addr, weight, gossip, watchdog_ms}, under the node's lease
//	leader/<lease>              election candidates (client/v3/concurrency)
//	plan                        {version, leader, assign: {"shard/3": "<node>"}}
//	config/units                {shard_count, agents}: the units to place
//	shards/<n>/owner            value <node>, under the owner's lease
//	agents/<id>/owner           value <node>, under the owner's lease
//	identify/slot/<bucket>      the bucket's identify slot, under a per-identify lease
//	identify/queue/<bucket>/<shard>/<lease>  waiters, in shard order
//	identify/limit              {remaining, total, reset_at_ms}
//	reshard                     {phase, from, to, reason, started_ms, ...}: the reshard under way
//	reshard/ready/<n>           value <node>, under its lease: next/<n> is READY there
//	reshard/live/<n>            value <node>, under its lease: next/<n> is READY and handles events there
//	nexts/<n>/owner             value <node>, under the owner's lease (next-generation shard)
//
// # Ownership protocol
//
// The invariant: a unit runs on at most one node at any moment. It rests on
// three rules.
//
//  1. Claim only when absent. A node starts a unit only after a transaction
//     If(CreateRevision(owner key) == 0) Then(Put(owner key, node,
//     WithLease(own lease))) succeeded (or the key is already held under
//     its own current lease, after a claim whose reply was lost). etcd
//     serialises transactions, so at every revision the key has at most one
//     holder.
//  2. Stop before release. A node deletes its owner key (a transaction
//     guarded by LeaseValue == own lease) only after Owner.Stop returned,
//     that is after the unit no longer runs. Therefore "key absent" implies
//     "no node runs the unit", and rule 1 lets the next owner start only
//     then.
//  3. Stop before expiry. The other way a key disappears is lease expiry.
//     A lease cannot expire before sent+TTL, where sent is the local
//     monotonic time at which the last successful keepalive request left
//     the node (etcd renewed it after that instant). The node's watchdog
//     suspends the lease when time.Since(sent) reaches TTL-margin (margin
//     defaults to 3/5 of the TTL): it cancels every pending start and
//     calls Owner.Stop (StopLeaseLost) for every unit at once, in
//     parallel, without waiting on etcd, with the context deadline at
//     sent+TTL, and starts nothing more. This assumes the node's and
//     etcd's clocks advance at about the same rate (not that they agree),
//     and that Owner.Stop finishes within the margin. The node keeps
//     renewing: a renewal etcd accepts proves the lease never expired, so
//     every claim under it is still the node's own and its units start
//     again at once (an etcd election that outlasts the watchdog costs a
//     RESUME, not a TTL). etcd's answer that the lease is gone declares it
//     lost: the epoch ends and the node starts a new one.
//
// A planned move of unit u from A to B (rebalance, drain):
//
//  1. The leader writes a plan that assigns u to B.
//  2. A sees the plan, calls Owner.Stop(u, StopHandoff): the shard
//     checkpoints session_id, seq and resume_gateway_url and closes with a
//     resumable close code.
//  3. A deletes /shards/u/owner (only if still under A's lease).
//  4. B, which watches the owner keys, sees the key absent and claims it by
//     rule 1, then calls Owner.Start(u): the shard resumes from the
//     checkpoint.
//
// B never overlaps A: B's claim succeeds only after step 3, which follows
// step 2. Moves run in parallel, at most Config.Parallel Start/Stop calls
// per node at a time.
//
// A crash of A: a peer proves A dead and revokes A's lease (see Fast
// failover), or, failing that, A's lease expires after at most TTL. Either
// way etcd deletes A's registration, owner keys and leader key at once, the
// leader (a new one, if A led) replans A's units (reason "failover"), and
// their new owners claim and resume from the last Redis checkpoint. A node
// cut off from etcd is not a crash: by rule 3 it has stopped its units
// before its keys can expire. When it reaches etcd again, either its lease
// still lives (etcd itself was unavailable) and its units start again, or
// the lease is gone and it takes a new one and registers again; the plan
// gives it work back like a new node.
//
// A unit whose owner key vanished while the node believed it ran it (it
// should not happen while the lease lives) is stopped at once.
//
// # Fast failover
//
// Lease expiry alone costs a crash the whole TTL. Detection is gossip's
// job, fencing stays etcd's:
//
//  1. Suspect. Every member holds a TCP liveness stream to each peer's
//     gossip port, on which the peer writes a heartbeat every 100 ms. A
//     killed process's sockets are closed by its kernel, so the stream
//     ends within milliseconds; a frozen process (SIGSTOP, a stalled VM)
//     keeps them open and falls silent, and the reader gives up after
//     600 ms. memberlist declaring a peer failed is a suspicion too. A
//     suspicion is never acted on by itself.
//  2. Check directly. The member reads the peer's registration (its lease
//     and gossip address) from etcd and connects to that address. Refused
//     (nothing listens on the port: the process is gone): it revokes the
//     lease now ("gone"). A heartbeat comes back: the peer lives, nothing
//     happens. No answer within 400 ms ("silent"): it revokes only once
//     etcd proves that the lease has not been renewed for the peer's
//     watchdog time (TTL minus margin, published in its registration as
//     watchdog_ms). etcd's TimeToLive reports whole seconds, truncated: a
//     reading r of a lease of g seconds, received at t, bounds the last
//     renewal to before t-(g-r-1)s, and a renewal shows as a reading back
//     at g-1, which polls every 50 ms cannot miss. The check gives up when
//     the peer answers again, the lease is renewed, or the lease is gone.
//  3. Revoke. Any member that completes a check revokes; a second revoke
//     finds the lease gone. Revoking deletes the registration, the owner
//     keys and the leader key (the next leader replans), so the units
//     move at once. Lease expiry stays the backstop (partitions, a member
//     that cannot reach etcd, an older node without a gossip address).
//
// Why a serving node is never revoked:
//
//   - "gone" needs a refused connection to the gossip port that the peer
//     registered. A running member always listens there: it starts gossip
//     before it registers and stops it only after revoking its own lease
//     (Close). A restarted process on the same port answers, and its new
//     registration is under a new lease. (A firewall that rejects with a
//     reset would be mistaken for a dead process; the revoked node, if it
//     still reaches etcd, sees its registration deleted and stops every
//     unit within one watch event, before any new owner can have claimed,
//     planned and resumed.)
//   - "silent" waits until etcd has not renewed the lease for the peer's
//     watchdog time. Since the peer's last successful keepalive was sent
//     before etcd's last renewal, the peer's own watchdog deadline (rule 3)
//     has passed by then: a peer that runs and cannot reach etcd has
//     already stopped every unit, exactly as if its lease had expired; a
//     peer that reaches etcd renews its lease and is never revoked, however
//     slow its gossip.
//   - A frozen peer thaws after its lease was revoked. Its watchdog finds
//     the deadline passed (or its first keepalive answers "lease not
//     found", or its watch sees its registration deleted) and stops every
//     unit before talking to etcd again; Member.Serving reads the clock
//     itself and says false from the first instruction after the thaw, so
//     work fenced on it never runs late. Its gateway connections were
//     already closed by Discord when the new owners resumed the sessions
//     (Discord keeps one connection per session), and an interaction that
//     still reaches it is claimed once in Redis, so the thaw handles
//     nothing twice.
//
// # Leader and plan
//
// Every member campaigns on leader/ with a session on its own lease, so
// leadership ends with the lease. The leader recomputes the plan when
// registrations or the unit configuration change and writes it with a
// transaction that requires both that its candidate key still exists with
// its creation revision (it is still leader) and that the plan has not
// changed since it read it. A new leader starts from the stored plan (for
// units the plan does not mention, from the owner keys), so leadership
// changes move nothing by themselves. The plan is intent; owner keys are
// truth.
//
// # Drain (SIGTERM)
//
// Member.Drain re-registers the node with weight 0; the leader moves every
// unit away by the planned-move protocol; Drain returns when the node runs
// and holds nothing and the plan gives it nothing. Member.Close then revokes
// the lease (registration, leader key) and leaves the gossip.
//
// Without etcd no plan can move anything, so Drain does not wait for one:
// when the weight cannot be written within a second (or the lease is lost
// during the drain), it stops every unit at once with StopHandoff (shards
// checkpoint and close resumably) and returns ErrEtcdUnreachable; Close
// then waits on etcd only briefly. The owner keys go with the lease: peers
// revoke it once the process is gone (its gossip port refuses), or it
// expires, and the next owners resume from the checkpoints.
//
// # Identify gate
//
// Discord allows max_concurrency IDENTIFYs per 5 s, one per bucket
// (shard % max_concurrency). Gate.Wait(ctx, shard) enqueues the shard under
// identify/queue/<bucket>/ and waits until it is the lowest queued shard
// of its bucket and identify/slot/<bucket> is absent; it then takes the
// slot (and decrements identify/limit) in one transaction. The caller sends
// IDENTIFY and calls release; the slot is deleted Window after release. The
// slot and queue entry live under a per-identify lease of at least
// 2*Window, kept alive while held and renewed once more at release, so a
// process that dies holding the slot still keeps the bucket closed for at
// least Window after its identify. A waiter that dies while queued blocks
// its bucket until its lease expires (at most 2*Window, at least 3 s); one
// that gives up (context done, budget refused) revokes its lease at once.
//
// Reserve: Wait refuses with ErrIdentifyBudget when the stored remaining
// session starts are at or below GateConfig.Reserve. The exception is
// WaitReserve, for a shard that must identify or go deaf (its RESUME was
// refused, or it has no checkpoint after a crash); it is refused only at 0.
// Cold starts and rebalancing go through Wait, so a bot near its daily
// limit keeps the reserve for recovering shards. Without a stored limit
// (SetSessionStartLimit never called) nothing is counted or refused. Shards
// must send every IDENTIFY, including re-identifies after an invalid
// session, through the gate.
//
// # Changing the shard count
//
// The unit configuration (config/units) is written once by the first node
// (Config.ShardCount). Online, StartReshard writes the reshard document and
// the leader places units next/0..To-1 beside the shards (the Owner starts
// them, with UnitShardCount, as warm sessions that discard their events).
// Once every next shard's owner marked it READY (reshard/ready, written
// from ReshardOwner.NextReady), the leader writes phase "switched" in one
// transaction fenced on its leadership, the document and those markers;
// members then call ReshardOwner.ServeNext and mark reshard/live once
// the session is READY. Once
// every next shard is live, the leader writes, in one fenced transaction,
// the new count, a plan giving shard/<n> to the owner of next/<n>, and
// deletes the document and markers. Members stop the next units with
// StopPromoted (the Owner keeps the session for Start(shard/<n>) to
// adopt) and the old shards with StopRetired (the session ends; no
// checkpoint). Before that last transaction the old generation serves in
// full, so AbortReshard (which deletes the document; next units stop with
// StopAborted) or any failure leaves it serving; after it the new one
// does. SetShardCount changes the count for a cold restart instead, while
// no node runs.
package coordinator
