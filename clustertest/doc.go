// Package clustertest runs Chopsticks clusters of separate node processes
// (through package harness), kills, freezes and cuts them off, and checks
// the invariants: no shard owned twice, no event lost, no interaction
// answered twice or applied without an answer, money conserved. It holds
// only tests.
package clustertest
