package node_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/chopsticks-bot/chopsticks/bintest"
)

// logChecker passes a node's log on to w and, when the test ends, fails
// it for each line that is not a JSON object with unique keys
// (bintest.LogLine), such as `"node":"node-1","node":"lavalink-a"`.
func logChecker(t *testing.T, w io.Writer) io.Writer {
	c := &keyChecker{w: w}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, bad := range c.bad {
			t.Errorf("log line breaks the format: %s", bad)
		}
		c.done = true
	})
	return c
}

type keyChecker struct {
	w       io.Writer
	mu      sync.Mutex
	partial []byte
	bad     []string
	done    bool
}

func (c *keyChecker) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.partial = append(c.partial, p...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		line := c.partial[:i]
		if err := bintest.LogLine(line); err != nil && !c.done && len(c.bad) < 20 {
			c.bad = append(c.bad, err.Error()+": "+string(line))
		}
		c.partial = c.partial[i+1:]
	}
	c.mu.Unlock()
	return c.w.Write(p)
}
