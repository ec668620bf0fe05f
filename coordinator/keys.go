package coordinator

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultPrefix is the root of every key the coordinator keeps in etcd.
const DefaultPrefix = "/chopsticks"

// keys builds the etcd key layout under one prefix.
type keys struct{ prefix string }

func (k keys) nodes() string              { return k.prefix + "/nodes/" }
func (k keys) node(id NodeID) string      { return k.nodes() + string(id) }
func (k keys) leader() string             { return k.prefix + "/leader" }
func (k keys) plan() string               { return k.prefix + "/plan" }
func (k keys) units() string              { return k.prefix + "/config/units" }
func (k keys) identify() string           { return k.prefix + "/identify/" }
func (k keys) slot(bucket int) string     { return fmt.Sprintf("%sslot/%06d", k.identify(), bucket) }
func (k keys) queue(bucket int) string    { return fmt.Sprintf("%squeue/%06d/", k.identify(), bucket) }
func (k keys) startLimit() string         { return k.identify() + "limit" }
func (k keys) ownerPrefix(kd Kind) string { return k.prefix + "/" + string(kd) + "s/" }
func (k keys) reshard() string            { return k.prefix + "/reshard" }
func (k keys) reshardMarks() string       { return k.prefix + "/reshard/" }
func (k keys) ready(id int) string        { return fmt.Sprintf("%sready/%d", k.reshardMarks(), id) }
func (k keys) live(id int) string         { return fmt.Sprintf("%slive/%d", k.reshardMarks(), id) }

// owner is /chopsticks/shards/<n>/owner or /chopsticks/agents/<id>/owner.
func (k keys) owner(u Unit) string {
	return k.ownerPrefix(u.Kind) + strconv.Itoa(u.ID) + "/owner"
}

// parseOwner returns the unit of an owner key.
func (k keys) parseOwner(key string) (Unit, bool) {
	for _, kd := range []Kind{KindShard, KindAgent, KindNext} {
		rest, ok := strings.CutPrefix(key, k.ownerPrefix(kd))
		if !ok {
			continue
		}
		id, ok := strings.CutSuffix(rest, "/owner")
		if !ok {
			return Unit{}, false
		}
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return Unit{}, false
		}
		return Unit{kd, n}, true
	}
	return Unit{}, false
}
