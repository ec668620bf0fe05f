package node

import (
	"context"
	"os"

	"github.com/chopsticks-bot/chopsticks/commands"
)

var osStderr = os.Stderr

// commandSet is the catalog the node serves.
func (n *Node) commandSet() ([]*commands.Command, []*commands.Component, error) {
	cmds := []*commands.Command{commands.Ping(), commands.Help(nil)}
	return cmds, nil, nil
}

// limiter is the command rate limiter; nil until it is wired.
func (n *Node) limiter() commands.Limiter { return nil }

// migrate brings the database schema up to date.
func (n *Node) migrate(ctx context.Context) error { return nil }
