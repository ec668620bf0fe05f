package wire

// Keys in Redis beside the generation hashes, named from a rule's field
// ("<subject tag><rule suffix>").
const (
	// BlockPrefix names a running block: its end (µs), expiring with it.
	// Blocks are announced on pub/sub as "<block key> <milliseconds>".
	BlockPrefix = "rlb:"
	violPrefix  = "rlv:" // the violations remembered for the backoff
	failPrefix  = "rlf:" // a subject's failure schedule (GCRA's TAT, µs)
)

// BlockKey is the key of field's running block.
func BlockKey(field string) string { return BlockPrefix + field }

// HashBase is the base name of the generation hashes for a script call on
// the subjects of tag ("{...}"): one shared base on a single Redis, where a
// call may carry many subjects, and the subject's own when split (Redis
// Cluster), so that every key of the call lives in one slot.
func HashBase(split bool, tag string) string {
	if split {
		return "rlh:" + tag
	}
	return "rlh:{rl}"
}
