package node

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestParseRedisURL: each topology's form gives the options that make
// redis.NewUniversalClient build that topology's client, with TLS and ACL
// users in each; bad forms are refused without quoting the password.
func TestParseRedisURL(t *testing.T) {
	tests := []struct {
		raw                    string
		addrs                  []string
		master                 string
		cluster, tls           bool
		user, pass, sUser, sPw string
		db                     int
		client                 string // the concrete type NewUniversalClient returns
	}{
		{raw: "redis://127.0.0.1:6379/2", addrs: []string{"127.0.0.1:6379"}, db: 2, client: "*redis.Client"},
		{raw: "rediss://app:s3cret@cache.example.org:6380/0?dial_timeout=2s", addrs: []string{"cache.example.org:6380"}, tls: true, user: "app", pass: "s3cret", client: "*redis.Client"},
		{raw: "unix:///run/redis.sock?db=1", addrs: []string{"/run/redis.sock"}, db: 1, client: "*redis.Client"},
		{raw: "redis-sentinel://s1:26379,s2,s3:26381/main", addrs: []string{"s1:26379", "s2:26379", "s3:26381"}, master: "main", client: "*redis.Client"},
		{raw: "rediss-sentinel://app:pw@s1:26379,s2:26379/main/3?sentinel_username=sen&sentinel_password=spw", addrs: []string{"s1:26379", "s2:26379"},
			master: "main", tls: true, user: "app", pass: "pw", sUser: "sen", sPw: "spw", db: 3, client: "*redis.Client"},
		{raw: "redis-cluster://10.0.0.1:7000", addrs: []string{"10.0.0.1:7000"}, cluster: true, client: "*redis.ClusterClient"},
		{raw: "rediss-cluster://app:pw@10.0.0.1:7000,10.0.0.2:7000,[::1]:7001/?pool_size=20", addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "[::1]:7001"},
			cluster: true, tls: true, user: "app", pass: "pw", client: "*redis.ClusterClient"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			o, err := ParseRedisURL(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{o.Addrs, o.MasterName, o.IsClusterMode, o.TLSConfig != nil, o.Username, o.Password, o.SentinelUsername, o.SentinelPassword, o.DB}
			want := []any{tt.addrs, tt.master, tt.cluster, tt.tls, tt.user, tt.pass, tt.sUser, tt.sPw, tt.db}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v\nwant %v", got, want)
			}
			if tt.tls && o.TLSConfig.ServerName == "" {
				t.Error("TLS without a server name to verify")
			}
			c := redis.NewUniversalClient(o)
			defer c.Close()
			if typ := fmt.Sprintf("%T", c); typ != tt.client {
				t.Errorf("client %s, want %s", typ, tt.client)
			}
		})
	}
	for _, bad := range []string{
		"", "127.0.0.1:6379", "http://127.0.0.1:6379", "redis-replica://h:1", "redis-sentinel://u:hunter2@h1:26379",
		"redis-sentinel://h1:26379/main/zero", "redis-cluster://h1:7000/0", "redis-cluster://h1:7000,,h2:7000",
		"redis-cluster://h1:port", "redis://u:hunter2@h:1/x", "redis-cluster://u:hunter2@h1:7000?no_such_option=1",
	} {
		_, err := ParseRedisURL(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error quotes the password: %v", bad, err)
		}
	}
}

// TestUniversalOptionsKeepsEveryOption: a single server's URL loses none
// of redis.ParseURL's options on the way to UniversalOptions.
func TestUniversalOptionsKeepsEveryOption(t *testing.T) {
	o, err := redis.ParseURL("rediss://u:p@h:1/3?client_name=c&protocol=2&max_retries=7&min_retry_backoff=1ms&max_retry_backoff=2s" +
		"&dial_timeout=3s&read_timeout=4s&write_timeout=5s&pool_fifo=true&pool_size=9&pool_timeout=6s&min_idle_conns=1" +
		"&max_idle_conns=2&max_active_conns=3&conn_max_idle_time=7s&conn_max_lifetime=8s&skip_verify=true")
	if err != nil {
		t.Fatal(err)
	}
	back := universalOptions(o).Simple()
	back.Network = o.Network // "tcp", NewClient's default
	if !reflect.DeepEqual(back, o) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, o)
	}
	if o.PoolTimeout != 6*time.Second || !slices.Equal(universalOptions(o).Addrs, []string{"h:1"}) {
		t.Error("options not parsed as expected")
	}
}
