package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrNodesRunning is returned by SetShardCount while a node is registered
// or still owns a unit: the shard count may change only in a cold restart.
var ErrNodesRunning = errors.New("coordinator: nodes are running")

// SetShardCount changes the cluster's shard count for a cold restart (a
// running cluster reshards online instead: StartReshard), with
// any etcd client (the `chopsticks shards` command): it writes the unit
// configuration with count shards, keeping its agents, and deletes the plan,
// which names shards of the old count, and any unfinished reshard. A count of 0 deletes the
// configuration instead, so that the first node to start writes it from its
// SHARD_COUNT or Discord's recommendation. Both happen in one transaction
// that fails with ErrNodesRunning, changing nothing, while any node is
// registered or owns a unit. prefix "" means DefaultPrefix.
func SetShardCount(ctx context.Context, cli *clientv3.Client, prefix string, count int) error {
	if count < 0 {
		return errors.New("coordinator: negative shard count")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	k := keys{prefix}
	cur, err := cli.Get(ctx, k.units())
	if err != nil {
		return fmt.Errorf("coordinator: read unit config: %w", err)
	}
	var doc unitsDoc
	var rev int64 // ModRevision of the configuration read, 0 when absent
	if len(cur.Kvs) == 1 {
		if err := json.Unmarshal(cur.Kvs[0].Value, &doc); err != nil {
			return fmt.Errorf("coordinator: unit config: %w", err)
		}
		rev = cur.Kvs[0].ModRevision
	}
	write := clientv3.OpDelete(k.units())
	if count > 0 {
		doc.ShardCount = count
		b, _ := json.Marshal(doc)
		write = clientv3.OpPut(k.units(), string(b))
	}
	idle := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(k.units()), "=", rev),
		clientv3.Compare(clientv3.CreateRevision(k.nodes()), "=", 0).WithPrefix(),
	}
	for _, kd := range []Kind{KindShard, KindAgent, KindNext} {
		idle = append(idle, clientv3.Compare(clientv3.CreateRevision(k.ownerPrefix(kd)), "=", 0).WithPrefix())
	}
	resp, err := cli.Txn(ctx).If(idle...).Then(write, clientv3.OpDelete(k.plan()),
		clientv3.OpDelete(k.reshard()), clientv3.OpDelete(k.reshardMarks(), clientv3.WithPrefix())).
		Else(clientv3.OpGet(k.nodes(), clientv3.WithPrefix(), clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: set shard count: %w", err)
	}
	if resp.Succeeded {
		return nil
	}
	var running []string
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		running = append(running, string(kv.Key[len(k.nodes()):]))
	}
	sort.Strings(running)
	if len(running) == 0 {
		// Owner keys outlive their node by at most its lease, or the
		// configuration changed meanwhile.
		return fmt.Errorf("%w: units are still owned, or the configuration changed; retry in a few seconds", ErrNodesRunning)
	}
	return fmt.Errorf("%w: %v registered; stop every node first", ErrNodesRunning, running)
}
