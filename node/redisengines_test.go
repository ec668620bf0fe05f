package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// trafficLimits lets payTraffic's one user through: a user refused too
// often gets no notice, which discordsim counts as a failed interaction.
const trafficLimits = "command=100/1s"

// payTraffic pays other 1 credit from user, one /pay after another, until
// stop is closed, and returns each interaction with its reply. The caller
// gets the interactions once stop is closed and the last one answered.
func payTraffic(t *testing.T, sim *discordsim.Sim, guild, user, other discordsim.Snowflake, stop <-chan struct{}, sent func(*discordsim.Interaction)) <-chan []paid {
	out := make(chan []paid, 1)
	go func() {
		var all []paid
		defer func() { out <- all }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			i, err := sim.Invoke(ctx, discordsim.Invocation{Command: "pay", GuildID: guild, UserID: user,
				Options: map[string]any{"user": other, "amount": "1"}})
			if err != nil {
				cancel()
				t.Errorf("invoke /pay: %v", err)
				return
			}
			if sent != nil {
				sent(i)
			}
			msg, err := i.WaitMessage(ctx)
			cancel()
			all = append(all, paid{i: i, ok: err == nil && strings.Contains(msg.Content+embedText(msg), "paid"), err: err})
			time.Sleep(20 * time.Millisecond) // about 20 a second, under trafficLimits
		}
	}()
	return out
}

type paid struct {
	i   *discordsim.Interaction
	ok  bool
	err error
}

func embedText(m discordsim.Message) string {
	var b strings.Builder
	for _, e := range m.Embeds {
		b.Write(e)
	}
	return b.String()
}

// checkPaidOnce: every /pay was answered once, in time, and the ledger
// holds exactly one payment per successful reply: none applied twice,
// none lost; earlier payments were made before the traffic.
func checkPaidOnce(t *testing.T, s *stack, earlier int, all []paid) {
	t.Helper()
	okCount := 0
	for _, p := range all {
		if p.err != nil {
			t.Errorf("/pay %v unanswered: %v", p.i.Info().ID, p.err)
		}
		if info := p.i.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 {
			t.Errorf("/pay outcome: %+v", info)
		}
		if p.ok {
			okCount++
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.pg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT op_id) FROM economy.transactions WHERE kind = 'pay'`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != earlier+okCount || distinct != n {
		t.Errorf("%d payments in the ledger (%d distinct), %d before the traffic and %d replies said paid", n, distinct, earlier, okCount)
	}
	t.Logf("%d /pay interactions, %d paid", len(all), okCount)
}

// TestNodeOnRedisCluster: a node given a redis-cluster:// URL answers
// /daily, /balance and /pay through discordsim with its claims, limits,
// cooldowns and checkpoints on a Redis Cluster of three masters; a master
// killed under /pay traffic fails over to its replica and the node keeps
// answering, every payment applied once.
func TestNodeOnRedisCluster(t *testing.T) {
	s := newStack(t, 2)
	rc := servertest.RedisCluster(t)
	s.startNode(t, "n1", func(f *node.Flags) { f.RedisURL, f.RateLimits = rc.URL(), trafficLimits })
	guild, user := guildAndUser(t, s.sim)
	other := s.sim.DefaultUsers()[1]
	for _, inv := range []discordsim.Invocation{{Command: "daily"}, {Command: "balance"},
		{Command: "pay", Options: map[string]any{"user": other, "amount": "10"}}} {
		inv.GuildID, inv.UserID = guild, user
		i, _ := invoke(t, s.sim, inv)
		if info := i.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 {
			t.Errorf("/%s outcome: %+v", inv.Command, info)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { cc.Close() })
	var masters []string
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		if err == nil && n > 0 {
			masters = append(masters, c.Options().Addr)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(masters) < 2 {
		t.Fatalf("the node's keys are on %d masters, want them spread", len(masters))
	}

	// Kill the master of the next interaction's claim under /pay
	// traffic, and wait until a claim of an interaction sent after the
	// kill is stored in the slots it served.
	stop := make(chan struct{})
	var (
		victimAddr atomic.Value
		killedAt   atomic.Int64
		after      = make(chan discord.InteractionID, 1000)
	)
	done := payTraffic(t, s.sim, guild, user, other, stop, func(i *discordsim.Interaction) {
		id := discord.InteractionID(i.Info().ID)
		if victimAddr.Load() == nil {
			if m, err := cc.MasterForKey(ctx, commands.ClaimKey(id)); err == nil {
				victimAddr.Store(m.Options().Addr)
			}
		} else if killedAt.Load() != 0 {
			select {
			case after <- id:
			default:
			}
		}
	})
	poll.Eventually(t, 10*time.Second, func() bool { return victimAddr.Load() != nil }, "a /pay to be sent")
	victim := rc.Node(victimAddr.Load().(string))
	var victimSlots [][2]int64
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, sl := range slots {
		if sl.Nodes[0].Addr == victim.Addr() {
			victimSlots = append(victimSlots, [2]int64{int64(sl.Start), int64(sl.End)})
		}
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	var followed time.Duration
	poll.Eventually(t, 30*time.Second, func() bool {
		select {
		case id := <-after:
			key := commands.ClaimKey(id)
			slot, err := cc.ClusterKeySlot(ctx, key).Result()
			if err != nil {
				return false
			}
			mine := false
			for _, r := range victimSlots {
				mine = mine || (slot >= r[0] && slot <= r[1])
			}
			if !mine {
				return false
			}
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				if n, err := cc.Exists(ctx, key).Result(); err == nil {
					if n == 1 {
						followed = time.Since(killed)
					}
					return n == 1
				}
				cc.ReloadState(ctx)
				time.Sleep(50 * time.Millisecond)
			}
			return false
		default:
			return false
		}
	}, "a claim stored in the killed master's slots")
	// Traffic goes on a while on the promoted replica.
	for i := 0; i < 5; i++ {
		invoke(t, s.sim, discordsim.Invocation{Command: "balance", GuildID: guild, UserID: user})
	}
	close(stop)
	all := <-done
	checkPaidOnce(t, s, 1, all)
	t.Logf("cluster failed over in %v", followed.Round(time.Millisecond))
}

// TestNodeFollowsSentinelFailover: a node given a redis-sentinel:// URL
// keeps answering /pay while its master is SIGKILLed; no payment is
// applied twice or lost, and the node's claims reach the promoted replica
// within a second of the sentinels' promotion.
func TestNodeFollowsSentinelFailover(t *testing.T) {
	s := newStack(t, 1)
	rs := servertest.RedisSentinel(t)
	s.startNode(t, "n1", func(f *node.Flags) { f.RedisURL, f.RateLimits = rs.URL(), trafficLimits })
	guild, user := guildAndUser(t, s.sim)
	other := s.sim.DefaultUsers()[1]
	invoke(t, s.sim, discordsim.Invocation{Command: "daily", GuildID: guild, UserID: user})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	promoted := redis.NewClient(&redis.Options{Addr: rs.Replica.Addr()})
	t.Cleanup(func() { promoted.Close() })

	stop := make(chan struct{})
	var killedAt atomic.Int64
	type sent struct {
		id discord.InteractionID
		at time.Time
	}
	after := make(chan sent, 100000)
	done := payTraffic(t, s.sim, guild, user, other, stop, func(i *discordsim.Interaction) {
		if killedAt.Load() != 0 {
			after <- sent{discord.InteractionID(i.Info().ID), time.Now()}
		}
	})
	time.Sleep(500 * time.Millisecond) // traffic before the kill
	if err := rs.Master.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	var promotion time.Duration
	poll.Eventually(t, 30*time.Second, func() bool {
		a, err := rs.MasterAddr(ctx)
		promotion = time.Since(killed)
		return err == nil && a == rs.Replica.Addr()
	}, "the sentinels to promote the replica")
	// Traffic goes on a while on the promoted replica.
	time.Sleep(2 * time.Second)
	for i := 0; i < 5; i++ {
		invoke(t, s.sim, discordsim.Invocation{Command: "balance", GuildID: guild, UserID: user})
	}
	close(stop)
	checkPaidOnce(t, s, 0, <-done)
	close(after)
	// The node followed when its first interaction sent after the kill
	// whose claim is on the promoted replica was sent.
	followed := time.Duration(-1)
	for a := range after {
		if n, err := promoted.Exists(ctx, commands.ClaimKey(a.id)).Result(); err != nil {
			t.Fatal(err)
		} else if n == 1 {
			followed = a.at.Sub(killed)
			break
		}
	}
	if followed < 0 {
		t.Fatal("no claim reached the promoted replica")
	}
	t.Logf("sentinels promoted the replica %v after the kill; the node's claims reached it %v after", promotion.Round(time.Millisecond), followed.Round(time.Millisecond))
	if followed > promotion+time.Second {
		t.Errorf("the node followed the new master %v after the promotion, want at most 1s", (followed - promotion).Round(time.Millisecond))
	}
}

// TestSessionsOnASecondRedis: with REDIS_SESSIONS_URL the dashboard keeps
// its OAuth state and sessions there, and nothing of them on REDIS_URL.
func TestSessionsOnASecondRedis(t *testing.T) {
	s := newStack(t, 1)
	sessions := servertest.Redis(t)
	addr := s.startNode(t, "n1", func(f *node.Flags) {
		f.RedisSessionsURL = "redis://" + sessions + "/0"
		f.DiscordClientSecret, f.DiscordRedirectURI = "secret", "http://127.0.0.1/auth/callback"
		f.DashboardSessionKey = strings.Repeat("k", 32)
	})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + addr + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("/auth/login: %s", resp.Status)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		addr string
		want int
	}{{sessions, 1}, {s.redis, 0}} {
		c := redis.NewClient(&redis.Options{Addr: tt.addr})
		keys, err := c.Keys(ctx, "chopsticks:dashboard:*").Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != tt.want {
			t.Errorf("Redis %s holds dashboard keys %v, want %d", tt.addr, keys, tt.want)
		}
	}
}

// TestNodeOnSecureRedis: in each topology, Redis with TLS only and an ACL
// user (the default user turned off): a node given the rediss URL with the
// user's credentials and REDIS_CA_FILE answers /daily, /balance and /pay,
// and its claims are on those servers. A wrong password is refused at
// start with a message that does not hold it.
func TestNodeOnSecureRedis(t *testing.T) {
	ca, err := localserver.NewTestCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sec := localserver.RedisSecurity{TLS: ca, User: "chopsticks", Password: "s3cret-pw"}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tlsConf := func() *tls.Config {
		pem, err := os.ReadFile(ca.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	for _, tt := range []struct {
		name  string
		start func(t *testing.T) (url string, client redis.UniversalClient)
	}{
		{"one server", func(t *testing.T) (string, redis.UniversalClient) {
			r, err := localserver.StartSecureRedis(ctx, t.TempDir(), sec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Kill() })
			return r.URL(0), redis.NewClient(&redis.Options{Addr: r.Addr(), Username: sec.User, Password: sec.Password, TLSConfig: tlsConf()})
		}},
		{"sentinel", func(t *testing.T) (string, redis.UniversalClient) {
			rs, err := localserver.StartSecureRedisSentinel(ctx, t.TempDir(), 3, sec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rs.Kill)
			return rs.URL(), redis.NewClient(&redis.Options{Addr: rs.Master.Addr(), Username: sec.User, Password: sec.Password, TLSConfig: tlsConf()})
		}},
		{"cluster", func(t *testing.T) (string, redis.UniversalClient) {
			rc, err := localserver.StartSecureRedisCluster(ctx, t.TempDir(), 3, 0, sec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(rc.Kill)
			return rc.URL(), redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), Username: sec.User, Password: sec.Password, TLSConfig: tlsConf()})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, client := tt.start(t)
			t.Cleanup(func() { client.Close() })
			if !strings.HasPrefix(url, "rediss") || !strings.Contains(url, sec.Password) {
				t.Fatalf("URL %q is not a TLS URL with the user's credentials", url)
			}
			s := newStack(t, 1)
			s.startNode(t, "n1", func(f *node.Flags) { f.RedisURL, f.RedisCAFile = url, ca.CAFile })
			guild, user := guildAndUser(t, s.sim)
			other := s.sim.DefaultUsers()[1]
			var last *discordsim.Interaction
			for _, inv := range []discordsim.Invocation{{Command: "daily"}, {Command: "balance"},
				{Command: "pay", Options: map[string]any{"user": other, "amount": "10"}}} {
				inv.GuildID, inv.UserID = guild, user
				i, _ := invoke(t, s.sim, inv)
				if info := i.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 {
					t.Errorf("/%s outcome: %+v", inv.Command, info)
				}
				last = i
			}
			n, err := client.Exists(ctx, commands.ClaimKey(discord.InteractionID(last.Info().ID))).Result()
			if err != nil || n != 1 {
				t.Errorf("the last interaction's claim on the secured Redis: %d, %v", n, err)
			}
		})
	}
	r, err := localserver.StartSecureRedis(ctx, t.TempDir(), sec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Kill() })
	for _, tt := range []struct {
		name, url, caFile, want string
	}{
		{"wrong password", strings.Replace(r.URL(0), sec.Password, "not-the-pw", 1), ca.CAFile, "WRONGPASS"},
		{"server certificate not trusted", r.URL(0), "", "certificate signed by unknown authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flags := newStack(t, 1).config("n1")
			flags.RedisURL, flags.RedisCAFile = tt.url, tt.caFile
			cfg, err := flags.Load()
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithTimeout(ctx, 20*time.Second)
			defer stop()
			err = node.Run(runCtx, cfg)
			var ce *node.ConfigError
			if !errors.As(err, &ce) || ce.Setting != "REDIS_URL" || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want a REDIS_URL ConfigError saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), sec.Password) || strings.Contains(err.Error(), "not-the-pw") {
				t.Errorf("the error holds the password: %v", err)
			}
		})
	}
}
