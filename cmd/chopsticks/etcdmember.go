package main

import (
	"context"
	"io"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// etcd-member is hidden (no summary): it runs one member of the local etcd
// cluster that tests start with localserver.StartEtcdCluster, as a process
// of its own so that a test can kill it as a crash would.
func init() {
	subcommands["etcd-member"] = subcommand{run: func(ctx context.Context, args []string, _, _ io.Writer) error {
		if err := localserver.RunEtcdMember(ctx, args); err != nil {
			return usagef("%v", err)
		}
		return nil
	}}
}
