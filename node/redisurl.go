package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisURLForms lists the forms a Redis setting (REDIS_URL,
// REDIS_SESSIONS_URL) takes; errors and the docs quote it.
const RedisURLForms = "redis[s]://[user:password@]host:port[/db], " +
	"redis[s]-sentinel://[user:password@]host:port[,host:port...]/master[/db] or " +
	"redis[s]-cluster://[user:password@]host:port[,host:port...]"

// ParseRedisURL parses a Redis setting into go-redis's UniversalOptions,
// from which redis.NewUniversalClient builds the client of its topology:
//
//   - redis:// and rediss:// (TLS): one server, as redis.ParseURL reads it
//     (unix:///path/to/socket too);
//   - redis-sentinel:// and rediss-sentinel://: the sentinels' addresses
//     (default port 26379), the master's name and an optional database; the
//     user and password are the master's and replicas' (ACL), the
//     sentinels' own are the query's sentinel_username and
//     sentinel_password;
//   - redis-cluster:// and rediss-cluster://: seed addresses of a Redis
//     Cluster (one is enough; the client discovers the rest), no database.
//
// Every form takes redis.ParseURL's query options (dial_timeout,
// pool_size, skip_verify...). With TLS the certificate must name the first
// host. The error never contains the password.
func ParseRedisURL(raw string) (*redis.UniversalOptions, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("no scheme: want %s", RedisURLForms)
	}
	base, topology, _ := strings.Cut(scheme, "-")
	if scheme == "unix" {
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, redactURLErr(err, raw)
		}
		u := universalOptions(o)
		sock := o.Addr
		u.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}
		return u, nil
	}
	if base != "redis" && base != "rediss" {
		return nil, fmt.Errorf("scheme %q: want %s", scheme, RedisURLForms)
	}
	if topology == "" {
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, redactURLErr(err, raw)
		}
		return universalOptions(o), nil
	}
	if topology != "sentinel" && topology != "cluster" {
		return nil, fmt.Errorf("scheme %q: want %s", scheme, RedisURLForms)
	}
	// The host list is not a URL host: take it out, and let url and
	// redis.ParseURL read the rest with the first host in its place.
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hostlist := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostlist = authority[:i+1], authority[i+1:]
	}
	defPort := "6379"
	if topology == "sentinel" {
		defPort = "26379"
	}
	var addrs []string
	for _, h := range strings.Split(hostlist, ",") {
		if h == "" {
			return nil, fmt.Errorf("empty host in %q: want %s", hostlist, RedisURLForms)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = h, defPort
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || host == "" {
			return nil, fmt.Errorf("address %q must be host:port", h)
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	path, query, _ := strings.Cut(tail, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	var master, sentinelUser, sentinelPass string
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	db := ""
	switch topology {
	case "sentinel":
		if len(segs) == 0 || len(segs) > 2 {
			return nil, fmt.Errorf("path %q must be /master-name[/db]", path)
		}
		master = segs[0]
		if len(segs) == 2 {
			db = "/" + segs[1]
		}
		sentinelUser, sentinelPass = q.Get("sentinel_username"), q.Get("sentinel_password")
		q.Del("sentinel_username")
		q.Del("sentinel_password")
	case "cluster":
		if len(segs) != 0 {
			return nil, fmt.Errorf("path %q: a Redis Cluster has no databases, give none", path)
		}
	}
	single := base + "://" + userinfo + addrs[0] + db
	if len(q) > 0 {
		single += "?" + q.Encode()
	}
	o, err := redis.ParseURL(single)
	if err != nil {
		return nil, redactURLErr(err, raw)
	}
	u := universalOptions(o)
	u.Addrs = addrs
	u.MasterName = master
	u.SentinelUsername, u.SentinelPassword = sentinelUser, sentinelPass
	u.IsClusterMode = topology == "cluster"
	return u, nil
}

// redactURLErr returns err without the URL's password, which url.Parse's
// errors quote whole.
func redactURLErr(err error, raw string) error {
	msg := err.Error()
	if u, perr := url.Parse(raw); perr == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	if strings.Contains(msg, raw) || strings.Contains(msg, "@") {
		msg = "not a valid URL"
	}
	return errors.New(msg)
}

// universalOptions is o as UniversalOptions; UniversalOptions.Simple is its
// inverse, which the tests check.
func universalOptions(o *redis.Options) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs: []string{o.Addr}, ClientName: o.ClientName, Dialer: o.Dialer, OnConnect: o.OnConnect,
		DB: o.DB, Protocol: o.Protocol, Username: o.Username, Password: o.Password,
		CredentialsProvider: o.CredentialsProvider, CredentialsProviderContext: o.CredentialsProviderContext,
		StreamingCredentialsProvider: o.StreamingCredentialsProvider,
		MaxRetries:                   o.MaxRetries, MinRetryBackoff: o.MinRetryBackoff, MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout: o.DialTimeout, DialerRetries: o.DialerRetries, DialerRetryTimeout: o.DialerRetryTimeout,
		ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		ReadBufferSize: o.ReadBufferSize, WriteBufferSize: o.WriteBufferSize,
		PipelineReadBufferSize: o.PipelineReadBufferSize, PipelineWriteBufferSize: o.PipelineWriteBufferSize,
		PipelinePoolSize: o.PipelinePoolSize,
		PoolFIFO:         o.PoolFIFO, PoolSize: o.PoolSize, MaxConcurrentDials: o.MaxConcurrentDials,
		PoolTimeout: o.PoolTimeout, MinIdleConns: o.MinIdleConns, MaxIdleConns: o.MaxIdleConns,
		MaxActiveConns: o.MaxActiveConns, ConnMaxIdleTime: o.ConnMaxIdleTime, ConnMaxLifetime: o.ConnMaxLifetime,
		ConnMaxLifetimeJitter: o.ConnMaxLifetimeJitter,
		TLSConfig:             o.TLSConfig,
		DisableIdentity:       o.DisableIdentity, DisableIndentity: o.DisableIndentity, IdentitySuffix: o.IdentitySuffix,
		AutoPipelineOptions: o.AutoPipelineOptions, UnstableResp3: o.UnstableResp3,
		PushNotificationProcessor: o.PushNotificationProcessor, MaintNotificationsConfig: o.MaintNotificationsConfig,
		ClientSideCacheConfig: o.ClientSideCacheConfig, ClientSideCache: o.ClientSideCache,
		ClientSideCacheStrategy: o.ClientSideCacheStrategy, ClientSideCacheRefreshOnInvalidate: o.ClientSideCacheRefreshOnInvalidate,
		ClientSideCacheCoalesceMisses:          o.ClientSideCacheCoalesceMisses,
		ClientSideCacheInvalidationBatchWindow: o.ClientSideCacheInvalidationBatchWindow,
	}
}

// redactRedisErr is err's text without o's passwords, the servers' and the
// sentinels'.
func redactRedisErr(err error, o *redis.UniversalOptions) string {
	msg := redactErr(err, o.Password)
	if o.SentinelPassword != "" {
		msg = strings.ReplaceAll(msg, o.SentinelPassword, "<redacted>")
	}
	return msg
}

// newRedisClient builds o's client: a single server's, Sentinel's
// failover client (which follows a promoted master by itself) or a
// cluster client that reloads the slot map as soon as a server stops
// answering. go-redis reloads it only on MOVED or once a minute, so
// without this a dead master's slots would fail for a minute after its
// replica took them over.
func newRedisClient(o *redis.UniversalOptions) redis.UniversalClient {
	if !o.IsClusterMode || o.MasterName != "" {
		return redis.NewUniversalClient(o)
	}
	cc := redis.NewClusterClient(o.Cluster())
	cc.AddHook(reloadOnNetError{cc})
	return cc
}

// reloadOnNetError is a cluster client's hook that asks it to reload its
// slot map when a server cannot be reached (go-redis coalesces the
// reloads, 200 ms apart at most).
type reloadOnNetError struct{ cc *redis.ClusterClient }

func (h reloadOnNetError) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			h.cc.ReloadState(ctx)
		}
		return c, err
	}
}

func (h reloadOnNetError) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnNetError) check(ctx context.Context, err error) {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		(err != nil && strings.HasPrefix(err.Error(), "CLUSTERDOWN")) {
		h.cc.ReloadState(ctx)
	}
}

// trustRedisCA makes every TLS Redis client among opts trust the
// certificate authorities in the PEM file at path, instead of the
// system's. A file no TLS URL uses is an error: the operator meant TLS.
func trustRedisCA(path string, opts ...*redis.UniversalOptions) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot be read: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", path)
	}
	used := false
	for _, o := range opts {
		if o == nil || o.TLSConfig == nil {
			continue
		}
		o.TLSConfig = o.TLSConfig.Clone()
		o.TLSConfig.RootCAs = pool
		used = true
	}
	if !used {
		return errors.New("is set, but no Redis URL uses TLS (rediss://, rediss-sentinel:// or rediss-cluster://)")
	}
	return nil
}

// redisPing pings c, marking the answers no retry can change permanent:
// Redis refusing the credentials, or a server certificate not trusted.
func redisPing(ctx context.Context, c redis.UniversalClient) error {
	err := c.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var verify *tls.CertificateVerificationError
	msg := err.Error()
	if errors.As(err, &unknownCA) || errors.As(err, &badName) || errors.As(err, &verify) ||
		strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "NOPERM") {
		return permanent{err}
	}
	return err
}
