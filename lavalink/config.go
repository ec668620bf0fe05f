package lavalink

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config configures a Lavalink client.
type Config struct {
	// Nodes are the Lavalink nodes; at least one.
	Nodes []NodeConfig
	// UserID is the Discord user ID of the bot (or agent) whose voice
	// connections the players use.
	UserID string
	// ClientName is sent as Client-Name; default "chopsticks/dev".
	ClientName string
	// ResumeTimeout is how long a node keeps our players after our websocket
	// drops; default 60 s.
	ResumeTimeout time.Duration
	// FailoverAfter is how long a node may be unreachable before its players
	// are moved to another node; default 1 s.
	FailoverAfter time.Duration
	// ReadTimeout closes a websocket that received nothing (stats arrive every
	// minute) for this long; default 150 s.
	ReadTimeout time.Duration
	// HTTPClient makes the REST calls; default http.DefaultTransport's.
	HTTPClient *http.Client
	// RequestTimeout bounds each REST call but player updates; default 10 s.
	RequestTimeout time.Duration
	// PlayerTimeout bounds each player update; default 20 s. Servers may
	// hold an update until the voice connection is up (seconds), and a
	// timeout is never taken for a dead node.
	PlayerTimeout time.Duration
	// Logger receives the client's logs; default discards them.
	Logger *slog.Logger
	// Resume maps node names to Lavalink session IDs to resume on the first
	// connection: the sessions another process left behind (a Chopsticks node
	// that died while owning this agent). Their players are adopted.
	Resume map[string]string
	// OnSession is called with a node's session ID whenever the node becomes
	// ready, so that it can be saved for a later Resume. It must not block.
	OnSession func(node, sessionID string)
	// OnEvent receives every player event, including PlayerMovedEvent. It is
	// called from the client's goroutines and must not block for long.
	OnEvent func(Event)
}

// NodeConfig is one Lavalink node to connect to.
type NodeConfig struct {
	// Name identifies the node in logs and metrics; unique.
	Name string `json:"name"`
	// Address is host:port.
	Address string `json:"address"`
	// Password is the node's Authorization value.
	Password string `json:"password"`
	// Secure selects https and wss.
	Secure bool `json:"secure"`
}

// String describes the node without its password.
func (n NodeConfig) String() string {
	s := n.Name + "=" + n.Address
	if n.Secure {
		s += "+tls"
	}
	return s
}

func (n NodeConfig) httpBase() string {
	if n.Secure {
		return "https://" + n.Address
	}
	return "http://" + n.Address
}

func (n NodeConfig) wsURL() string {
	if n.Secure {
		return "wss://" + n.Address + "/v4/websocket"
	}
	return "ws://" + n.Address + "/v4/websocket"
}

// ErrBadNodes is wrapped by every ParseNodes error.
var ErrBadNodes = errors.New("invalid LAVALINK_NODES")

// ParseNodes parses LAVALINK_NODES. Two forms are accepted:
//
//   - compact: comma-separated name=host:port@password, where "+tls" right
//     after the port selects TLS, e.g.
//     "main=127.0.0.1:2333@youshallnotpass,eu=lava.example.com:443+tls@s3cret".
//     The password is everything after the first "@" and cannot contain a comma.
//   - JSON (when the value starts with "["): an array of
//     {"name","address","password","secure"} objects, for passwords with commas.
//
// Errors name the entry at fault but never include a password.
func ParseNodes(s string) ([]NodeConfig, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: no nodes given (want name=host:port@password, comma-separated)", ErrBadNodes)
	}
	var nodes []NodeConfig
	if strings.HasPrefix(s, "[") {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&nodes); err != nil {
			return nil, fmt.Errorf("%w: JSON form: %v", ErrBadNodes, err)
		}
		if len(nodes) == 0 {
			return nil, fmt.Errorf("%w: empty JSON array", ErrBadNodes)
		}
	} else {
		for i, entry := range strings.Split(s, ",") {
			entry = strings.TrimSpace(entry)
			name, rest, ok := strings.Cut(entry, "=")
			if !ok {
				return nil, fmt.Errorf("%w: entry %d: missing \"=\" (want name=host:port@password)", ErrBadNodes, i+1)
			}
			addr, password, ok := strings.Cut(rest, "@")
			if !ok {
				return nil, fmt.Errorf("%w: entry %d (%s): missing \"@password\"", ErrBadNodes, i+1, strings.TrimSpace(name))
			}
			n := NodeConfig{Name: strings.TrimSpace(name), Address: strings.TrimSpace(addr), Password: password}
			if a, ok := strings.CutSuffix(n.Address, "+tls"); ok {
				n.Address, n.Secure = a, true
			}
			nodes = append(nodes, n)
		}
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("%w: entry %d: empty name", ErrBadNodes, i+1)
		}
		if seen[n.Name] {
			return nil, fmt.Errorf("%w: node name %q used twice", ErrBadNodes, n.Name)
		}
		seen[n.Name] = true
		host, port, err := net.SplitHostPort(n.Address)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%w: node %s: address %q is not host:port", ErrBadNodes, n.Name, n.Address)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%w: node %s: port %q is not 1-65535", ErrBadNodes, n.Name, port)
		}
		if n.Password == "" {
			return nil, fmt.Errorf("%w: node %s: empty password", ErrBadNodes, n.Name)
		}
	}
	return nodes, nil
}
