package deploy

import (
	"regexp"
	"sort"
	"strings"
)

// MetricType is the Prometheus type of a metric family.
type MetricType string

// The metric types a family can have.
const (
	Counter   MetricType = "counter"
	Gauge     MetricType = "gauge"
	Histogram MetricType = "histogram"
)

// Metric describes one metric family a node exports. Dashboards and alert
// rules may query only these families, and the bot's telemetry tests can
// assert it exports every one of them with exactly these labels.
type Metric struct {
	Name   string
	Type   MetricType
	Labels []string // label names besides the target's job and instance
	Help   string   // what it counts and how to aggregate it across nodes
}

// Metrics returns the chopsticks_ metric families the deployment relies on,
// sorted by name. None has a label with unbounded values (no user or guild
// IDs); shard is bounded by the shard count.
func Metrics() []Metric {
	m := []Metric{
		{"chopsticks_commands_total", Counter, []string{"command", "status"}, "Slash commands handled by this node; status is ok, error (the command failed on our side) or another bounded outcome such as denied or invalid. The error rate alert counts status=\"error\"."},
		{"chopsticks_command_duration_seconds", Histogram, []string{"command"}, "Time from receiving an interaction to the reply being sent. Buckets must include 1, 2.5, 5 and 10 s so that the 5 s p95 alert is exact."},
		{"chopsticks_economy_transactions_total", Counter, []string{"kind"}, "Committed ledger transactions by kind (daily, work, pay, buy, ...)."},
		{"chopsticks_music_voice_connections_active", Gauge, nil, "Voice connections (players) driven by this node's agents. Sum across nodes."},
		{"chopsticks_music_lavalink_players", Gauge, []string{"node"}, "This node's players on each configured Lavalink node (node is the configured name). Sum across bot nodes for a Lavalink node's load."},
		{"chopsticks_music_player_moves_total", Counter, nil, "Players moved to another Lavalink node after theirs failed."},
		{"chopsticks_music_players_restored_total", Counter, nil, "Players rebuilt from saved playback when an adopted agent's Lavalink node had died too."},
		{"chopsticks_music_search_cache_lookups_total", Counter, []string{"result"}, "/play searches answered from the Redis search cache (result hit) or sent to Lavalink (miss); never the search terms."},
		{"chopsticks_music_track_errors_total", Counter, []string{"kind"}, "Tracks that could not be loaded (load, load_failed) or failed while playing (exception, stuck)."},
		{"chopsticks_music_forwarded_calls_total", Counter, []string{"op", "outcome"}, "Music commands this node forwarded to the node playing the channel, by op and outcome: ok, refused (the player said no, as it would locally), error, or unreachable (no node answered: it is down or cut off)."},
		{"chopsticks_music_forwarded_served_total", Counter, []string{"op", "outcome"}, "Music commands other nodes forwarded to this one, by op (unknown for an op this version lacks) and outcome: ok, refused or error."},
		{"chopsticks_agent_pool_size_total", Gauge, nil, "Agents registered in the pool (cluster-wide, the same on every node). Aggregate with max."},
		{"chopsticks_agent_pool_agents", Gauge, []string{"state"}, "Agents owned by this node by state: available, busy or unhealthy. Sum across nodes."},
		{"chopsticks_rate_limit_hits_total", Counter, []string{"rule"}, "Requests denied by a rate-limit rule (user, command, ip, global, block, fallback)."},
		{"chopsticks_rate_limit_decisions_total", Counter, []string{"path"}, "Rate-limit decisions by how they were answered: redis (one script call), local (a cached block or hot subject, no Redis call) or fallback (Redis unreachable, per-node limits). Sum across nodes."},
		{"chopsticks_rate_limit_decision_seconds", Histogram, []string{"path"}, "Time to reach a rate-limit decision, by path; the redis path includes waiting for the batch's round trip."},
		{"chopsticks_rate_limit_fallback", Gauge, nil, "1 while this node limits on its own because Redis is unreachable (sensitive actions are refused meanwhile). Sum across nodes: nodes in fallback."},
		{"chopsticks_rate_limit_fallback_switches_total", Counter, []string{"to"}, "Switches between cluster-wide limits and the per-node fallback, by the mode switched to (fallback, redis)."},
		{"chopsticks_rate_limit_local_cache_entries", Gauge, nil, "Blocks and over-limit subjects this node answers without Redis."},
		{"chopsticks_db_query_duration_seconds", Histogram, []string{"op"}, "PostgreSQL query or transaction time by bounded operation name."},
		{"chopsticks_db_pool_acquired_conns", Gauge, nil, "PostgreSQL connections currently acquired from this node's pool."},
		{"chopsticks_db_pool_max_conns", Gauge, nil, "Size limit of this node's PostgreSQL pool."},
		{"chopsticks_redis_errors_total", Counter, nil, "Redis commands that failed for a connection reason (dial, timeout, reset), not for a Redis-level reply like a rate-limit denial."},
		{"chopsticks_discord_rest_requests_total", Counter, []string{"route", "status"}, "Discord REST requests by route template (no IDs in it) and HTTP status code."},
		{"chopsticks_discord_rest_429_total", Counter, []string{"scope"}, "Discord REST responses with status 429, by scope (global, user, shared, other)."},
		{"chopsticks_shards_owned", Gauge, nil, "Shards this node holds the ownership key for. Sum across nodes is the shard count."},
		{"chopsticks_shard_up", Gauge, []string{"shard"}, "1 when a shard this node owns is connected and READY or RESUMED, 0 when owned but not connected; the series is removed when the shard is released. Aggregate with max by (shard)."},
		{"chopsticks_shard_moves_total", Counter, []string{"reason"}, "Shards this node took over or handed off, by reason (rebalance, drain, crash)."},
		{"chopsticks_identify_total", Counter, nil, "IDENTIFY payloads sent (each one spends a daily session start)."},
		{"chopsticks_resume_total", Counter, []string{"result"}, "RESUME attempts by result (ok, invalid_session, failed)."},
		{"chopsticks_cluster_nodes", Gauge, nil, "Live nodes this node sees in memberlist, itself included."},
		{"chopsticks_cluster_leader", Gauge, nil, "1 on the node that holds the etcd leadership, 0 elsewhere. Sum across nodes must be 1."},
		{"chopsticks_cluster_settings_mismatched_peers", Gauge, nil, "Live peers whose shared settings (RATE_LIMITS) differ from this node's; 0 in a consistent cluster."},
		{"chopsticks_leader_changes_total", Counter, nil, "Leadership changes this node observed."},
	}
	sort.Slice(m, func(i, j int) bool { return m[i].Name < m[j].Name })
	return m
}

// metricName matches a chopsticks_ metric name inside a PromQL expression.
var metricName = regexp.MustCompile(`\bchopsticks_[a-zA-Z0-9_]+`)

// UnknownMetrics returns the chopsticks_ names in a PromQL expression that
// are not series of a family in Metrics (histograms expose _bucket, _sum and
// _count series), in order of appearance and without repeats.
func UnknownMetrics(expr string) []string {
	known := make(map[string]bool)
	for _, m := range Metrics() {
		known[m.Name] = true
		if m.Type == Histogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[m.Name+s] = true
			}
		}
	}
	var unknown []string
	seen := make(map[string]bool)
	for _, name := range metricName.FindAllString(expr, -1) {
		if known[name] || seen[name] {
			continue
		}
		seen[name] = true
		unknown = append(unknown, name)
	}
	return unknown
}

// MetricsIn returns the distinct chopsticks_ names in a PromQL expression,
// with histogram series suffixes removed.
func MetricsIn(expr string) []string {
	var names []string
	seen := make(map[string]bool)
	for _, name := range metricName.FindAllString(expr, -1) {
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(name, s); base != name && isHistogram(base) {
				name = base
			}
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names
}

func isHistogram(name string) bool {
	for _, m := range Metrics() {
		if m.Name == name {
			return m.Type == Histogram
		}
	}
	return false
}
