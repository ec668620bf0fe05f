package economy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/economy/economytest"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// battleWorkerEnv holds a battle worker's JSON configuration; set, the
// test binary runs as one node of TestMultiProcessBattleConservation.
const battleWorkerEnv = "CHOPSTICKS_BATTLE_CONSERVATION_WORKER"

// Short deadlines so that timeouts happen within the test: a challenge
// lasts 2 s, a move 1 s, and every node sweeps every 200 ms.
const (
	battleChallengeSeconds = 2
	battleMoveSeconds      = 1
	battleSweepEvery       = 200 * time.Millisecond
)

type battleWorkerConfig struct {
	DSN     string `json:"dsn"`
	Node    int    `json:"node"`
	Users   int64  `json:"users"`
	Workers int    `json:"workers"`
	Ops     int    `json:"ops"`
}

type battleWorkerReport struct {
	Node       int      `json:"node"`
	Actions    int      `json:"actions"`
	Accepted   int      `json:"accepted"`
	Moves      int      `json:"moves"`
	Duplicates int      `json:"duplicates"`
	Refused    int      `json:"refused"`
	Errors     []string `json:"errors,omitempty"`
}

func battleCatalog() *economy.Catalog {
	cat := economy.DefaultCatalog()
	cat.Companions.Battle.ChallengeSeconds = battleChallengeSeconds
	cat.Companions.Battle.MoveSeconds = battleMoveSeconds
	cat.Companions.Battle.Charge = 0
	return cat
}

// TestMultiProcessBattleConservation: three node processes against one
// PostgreSQL run hundreds of concurrent challenges, accepts (from any
// node), moves (some out of turn, some delivered twice, some left to time
// out) while each node sweeps; the third node is SIGKILLed midway.
// Afterwards every escrow is settled within the deadlines plus the sweep
// interval (the survivors' sweeps pick up the dead node's battles),
// economy.Audit passes (its escrow check fails if a battle paid out twice
// or kept a wager), the fees in the sink are the fees the battles record,
// and no battle is left open.
func TestMultiProcessBattleConservation(t *testing.T) {
	if raw := os.Getenv(battleWorkerEnv); raw != "" {
		runBattleWorker(t, raw)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dsn := servertest.Postgres(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	const users = 300
	if err := economytest.Fund(ctx, pool, users, 100000); err != nil {
		t.Fatal(err)
	}
	// Two companions each, straight into the table (they are not credits).
	if _, err := pool.Exec(ctx, `INSERT INTO economy.companions (owner_id, model, name, power, speed, focus, charm,
			charge, charge_at, mood, mood_at, created_at)
		SELECT g, m, m || ' ' || g, 6, 6, 6, 6, 100, now(), 80, now(), now()
		FROM generate_series(1, $1::bigint) g, unnest(ARRAY['worker', 'medic']) m`, users); err != nil {
		t.Fatal(err)
	}
	type node struct {
		cmd    *exec.Cmd
		report chan *battleWorkerReport
	}
	var nodes []*node
	for i := 0; i < 3; i++ {
		b, _ := json.Marshal(battleWorkerConfig{DSN: dsn, Node: i, Users: users, Workers: 8, Ops: 150})
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcessBattleConservation$")
		cmd.Env = append(os.Environ(), battleWorkerEnv+"="+string(b))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &node{cmd: cmd, report: make(chan *battleWorkerReport, 1)}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		go func() {
			// Owned by the test: it ends when the child's stdout closes.
			var rep *battleWorkerReport
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), reportPrefix); ok {
					rep = new(battleWorkerReport)
					if err := json.Unmarshal([]byte(rest), rep); err != nil {
						rep = &battleWorkerReport{Node: -1, Errors: []string{err.Error()}}
					}
				}
			}
			n.report <- rep
		}()
		nodes = append(nodes, n)
	}
	// SIGKILL the last node once a good number of battles were accepted.
	poll.Eventually(t, 2*time.Minute, func() bool {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.battles WHERE state IN ('active', 'done')`).Scan(&n)
		return err == nil && n >= 30
	}, "accepted battles")
	if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	killedAt := time.Now()
	var active int
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM economy.battles WHERE state = 'active'`).Scan(&active)
	t.Logf("node 2 SIGKILLed with %d battles active", active)
	for i, n := range nodes {
		rep := <-n.report
		err := n.cmd.Wait()
		if i == 2 {
			if rep != nil {
				t.Error("the killed node finished first: raise the workload")
			}
			continue
		}
		if err != nil || rep == nil {
			t.Fatalf("node %d: %v (report %v)", i, err, rep)
		}
		for _, e := range rep.Errors {
			t.Errorf("node %d: %s", i, e)
		}
		t.Logf("node %d: %+v", i, *rep)
	}
	// The survivors swept until no battle was open (each fails if that
	// took longer than the deadlines plus the sweep interval); check.
	var open, unsettled int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM economy.open_battles),
		(SELECT count(*) FROM economy.battles WHERE state IN ('challenged', 'active') OR escrow <> 0)`).Scan(&open, &unsettled); err != nil {
		t.Fatal(err)
	}
	if open != 0 || unsettled != 0 {
		t.Fatalf("%d open battles, %d unsettled after the survivors stopped", open, unsettled)
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("%v (%+v)", err, rep)
	}
	// One result per battle: the fees in the sink are the battles' own.
	var done, fees, sinkFromBattles int64
	if err := pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(fee), 0) FROM economy.battles WHERE state = 'done'`).Scan(&done, &fees); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(l.amount), 0) FROM economy.ledger_legs l
		JOIN economy.transactions x ON x.id = l.tx_id WHERE l.account_id = -2 AND x.kind IN ('battle_move', 'battle_sweep')`).Scan(&sinkFromBattles); err != nil {
		t.Fatal(err)
	}
	if fees != sinkFromBattles {
		t.Errorf("battles record %d in fees, the sink got %d", fees, sinkFromBattles)
	}
	var states string
	_ = pool.QueryRow(ctx, `SELECT string_agg(state || '=' || n, ' ' ORDER BY state) FROM (
		SELECT state, count(*) AS n FROM economy.battles GROUP BY state) s`).Scan(&states)
	t.Logf("battles: %s; %d settled, %d in fees; all settled %.1fs after the kill", states, done, fees, time.Since(killedAt).Seconds())
	// The fire is what issue 19 asks for: hundreds of challenges, many of
	// them accepted and played to the end, and timeouts.
	var battles, expired int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'expired') FROM economy.battles`).Scan(&battles, &expired); err != nil {
		t.Fatal(err)
	}
	if battles < 200 || done < 50 || expired == 0 {
		t.Errorf("%d challenges, %d played to the end, %d expired: want hundreds, tens and some", battles, done, expired)
	}
}

// runBattleWorker is one node: workers challenge, accept, move and
// sometimes stay away, while the node sweeps; at the end it sweeps until
// no battle is open and reports on stdout.
func runBattleWorker(t *testing.T, raw string) {
	var cfg battleWorkerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc, err := economy.New(pool, economy.Config{Catalog: battleCatalog(), Rand: rand.NewPCG(uint64(cfg.Node), 5), MaxAttempts: 200})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	rep := battleWorkerReport{Node: cfg.Node}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		svc.RunBattleSweeper(sweepCtx, battleSweepEvery, func(err error) {
			mu.Lock()
			rep.Errors = append(rep.Errors, "sweep: "+err.Error())
			mu.Unlock()
		}, nil)
	}()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(cfg.Node)*1000+uint64(w), 7))
			var last func() (economy.Battle, error)
			var lastAnswer string
			for i := 0; i < cfg.Ops && ctx.Err() == nil; i++ {
				o := economy.Op(fmt.Sprintf("b%d-w%d-%d", cfg.Node, w, i))
				kind, call := battleAction(ctx, svc, pool, r, o, cfg.Users)
				dup := last != nil && r.IntN(10) == 0
				if dup {
					kind, call = "duplicate", last // the same delivery again
				}
				var err error
				var b economy.Battle
				if call != nil {
					b, err = call()
				}
				answer := fmt.Sprintf("%d/%s/%v", b.ID, b.State, err)
				if dup && answer != lastAnswer && !errors.Is(err, economy.ErrRetriesExhausted) {
					err = fmt.Errorf("a duplicate delivery answered %q, the first %q", answer, lastAnswer)
				}
				if call != nil && !dup {
					last, lastAnswer = call, answer
				}
				mu.Lock()
				rep.Actions++
				switch {
				case err != nil && errors.As(err, new(*refusal.Error)):
					rep.Refused++
				case err != nil:
					rep.Errors = append(rep.Errors, fmt.Sprintf("%s %s: %v", kind, o, err))
				case kind == "accept":
					rep.Accepted++
				case kind == "move":
					rep.Moves++
				case kind == "duplicate":
					rep.Duplicates++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Leave nothing open: keep sweeping (other nodes too) until every
	// battle is final, within the longest deadline chain plus sweeps: a
	// challenge accepted at its last moment, then two missed turns.
	limit := time.Now().Add(time.Duration(battleChallengeSeconds+2*battleMoveSeconds)*time.Second + 10*battleSweepEvery)
	for {
		var open int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.open_battles`).Scan(&open); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			break
		}
		if open == 0 {
			break
		}
		if time.Now().After(limit) {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%d battles still open past the deadlines plus the sweep interval", open))
			break
		}
		time.Sleep(battleSweepEvery / 2)
	}
	stopSweep()
	<-sweepDone
	b, _ := json.Marshal(rep)
	fmt.Printf("%s%s\n", reportPrefix, b)
}

// battleAction picks one random thing to deliver: challenge someone,
// accept an open challenge as its challenged player, move in an active
// battle as the player to move (or out of turn, refused), or stay away from
// a turn (nil: nothing to deliver).
func battleAction(ctx context.Context, svc *economy.Service, pool *pgxpool.Pool, r *rand.Rand, o economy.Op, users int64) (string, func() (economy.Battle, error)) {
	switch x := r.IntN(10); {
	case x < 3:
		a := 1 + r.Int64N(users)
		b := 1 + r.Int64N(users-1)
		if b >= a {
			b++
		}
		req := economy.ChallengeRequest{Op: o, Challenger: a, Challenged: b, Wager: r.Int64N(2000)}
		return "challenge", func() (economy.Battle, error) { return svc.Challenge(ctx, req) }
	case x < 6:
		var id, challenged int64
		err := pool.QueryRow(ctx, `SELECT id, challenged FROM economy.battles WHERE state = 'challenged'
			ORDER BY random() LIMIT 1`).Scan(&id, &challenged)
		if err != nil {
			return "accept", nil // none open
		}
		return "accept", func() (economy.Battle, error) { return svc.AcceptBattle(ctx, o, id, challenged, "") }
	default:
		var id int64
		if err := pool.QueryRow(ctx, `SELECT id FROM economy.battles WHERE state = 'active' ORDER BY random() LIMIT 1`).Scan(&id); err != nil {
			return "move", nil
		}
		b, err := svc.GetBattle(ctx, id)
		if err != nil || b.Play == nil {
			return "move", nil
		}
		presser := b.Player(b.Play.Side)
		switch r.IntN(10) {
		case 0:
			presser = b.Player(1 - b.Play.Side) // out of turn: refused
		case 1:
			return "away", nil // the player stays away; the sweep moves
		}
		turn, move := b.Play.Turn, r.IntN(len(b.Fighters[b.Play.Side].Moves))
		return "move", func() (economy.Battle, error) { return svc.MoveBattle(ctx, o, id, presser, turn, move) }
	}
}
