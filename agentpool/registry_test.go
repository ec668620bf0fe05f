package agentpool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestMain(m *testing.M) { servertest.Main(m) }

const (
	keyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	keyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	// Shaped like Discord bot tokens; fake.
	tokenOne  = "MTExMTExMTExMTExMTExMTEx.GaBcDe.one-secret-part-aaaaaaaaaaaaaaaaaaaaaaaaaa"
	tokenTwo  = "MjIyMjIyMjIyMjIyMjIyMjIy.GfGhIj.two-secret-part-bbbbbbbbbbbbbbbbbbbbbbbbbb"
	tokenUser = "user-account-token-cccccccccccccccccccccccccccccc"
)

// fakeDiscord answers GET /api/v10/users/@me like Discord for a few tokens.
func fakeDiscord(t *testing.T) *httptest.Server {
	users := map[string]BotUser{
		"Bot " + tokenOne:  {ID: "111111111111111111", Username: "agent-one", Bot: true},
		"Bot " + tokenTwo:  {ID: "222222222222222222", Username: "agent-two", Bot: true},
		"Bot " + tokenUser: {ID: "333333333333333333", Username: "a-person"},
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v10/users/@me" {
			http.NotFound(w, r)
			return
		}
		u, ok := users[r.Header.Get("Authorization")]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"message": "401: Unauthorized", "code": 0}`))
			return
		}
		json.NewEncoder(w).Encode(u)
	}))
	t.Cleanup(s.Close)
	return s
}

func mustKey(t *testing.T, s string) Key {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// setup returns a migrated pool and a checker against a fake Discord.
func setup(t *testing.T) (*pgxpool.Pool, *TokenChecker, string) {
	t.Helper()
	dsn := servertest.Postgres(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	d := fakeDiscord(t)
	checker, err := NewTokenChecker(d.URL, d.Client())
	if err != nil {
		t.Fatal(err)
	}
	return pool, checker, dsn
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want error
	}{
		{keyA, nil},
		{"  " + strings.ToUpper(keyB) + "\n", nil},
		{"", ErrNoKey},
		{keyA[:62], ErrBadKey},
		{keyA + "00", ErrBadKey},
		{"zz" + keyA[2:], ErrBadKey},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in)
		if !errors.Is(err, tt.want) || (err == nil) == k.IsZero() {
			t.Errorf("ParseKey(%q) = %v, want %v", tt.in, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), tt.in[:min(len(tt.in), 10)]) && tt.in != "" {
			t.Errorf("error repeats the key: %v", err)
		}
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	tok := NewToken("Bot " + tokenOne)
	if tok.Reveal() != tokenOne {
		t.Fatalf("NewToken did not strip the Bot prefix")
	}
	key := mustKey(t, keyA)
	holder := struct {
		Token Token
		Key   Key
	}{tok, key}
	hidden := struct {
		tok Token
		key Key
	}{tok, key}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%v %+v %#v", hidden, hidden, hidden)
	fmt.Fprintf(&out, "%v %+v %#v %s %q %x %X %d", tok, tok, tok, tok, tok, tok, tok, tok)
	fmt.Fprintf(&out, "%v %+v %#v %s %x", holder, holder, holder, key, key)
	fmt.Fprint(&out, tok, key, &tok)
	b, _ := json.Marshal(holder)
	out.Write(b)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("x", "token", tok, "key", key, "holder", holder)
	slog.New(slog.NewTextHandler(&out, nil)).Info("x", "token", tok, "key", key)
	for _, secret := range []string{tokenOne, "one-secret", keyA, "00112233"} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("secret %q printed in: %s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Fatal("nothing printed at all")
	}
}

func TestAddAndManage(t *testing.T) {
	t.Parallel()
	pool, checker, _ := setup(t)
	ctx := context.Background()
	reg := NewRegistry(pool, mustKey(t, keyA), checker)
	a, err := reg.Add(ctx, "one", NewToken(tokenOne))
	if err != nil {
		t.Fatal(err)
	}
	if a.BotUserID != "111111111111111111" || !a.Enabled || a.KeyVersion != 1 || a.ID == 0 {
		t.Fatalf("added %+v", a)
	}
	refusals := []struct {
		name     string
		reg      *Registry
		agent    string
		token    string
		want     error
		contains string
	}{
		{"same token", reg, "again", tokenOne, ErrDuplicate, "already an agent"},
		{"same name", reg, "one", tokenTwo, ErrDuplicate, "name"},
		{"refused token", reg, "x", "not-a-real-token.abc.def", ErrBadToken, "401"},
		{"user token", reg, "x", tokenUser, ErrBadToken, "not a bot"},
		{"empty token", reg, "x", "", ErrBadToken, "empty"},
		{"token with space", reg, "x", "abc def", ErrBadToken, "spaces"},
		{"no key", NewRegistry(pool, Key{}, checker), "x", tokenTwo, ErrNoKey, "openssl"},
		{"wrong key", NewRegistry(pool, mustKey(t, keyB), checker), "x", tokenTwo, ErrWrongKey, "key version 1"},
		{"empty name", reg, " ", tokenTwo, ErrBadName, ""},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.reg.Add(ctx, tt.agent, NewToken(tt.token))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.want, tt.contains)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error contains the token: %v", err)
			}
		})
	}
	if agents, _ := reg.List(ctx); len(agents) != 1 {
		t.Fatalf("refusals changed the registry: %+v", agents)
	}
	b, err := reg.Add(ctx, "two", NewToken(tokenTwo))
	if err != nil {
		t.Fatal(err)
	}
	// Stored encrypted, each with its own nonce; decrypts back.
	var raw []byte
	rows, _ := pool.Query(ctx, `SELECT token_ciphertext || token_nonce FROM agents`)
	var nonces [][]byte
	for rows.Next() {
		var r []byte
		rows.Scan(&r)
		raw = append(raw, r...)
		nonces = append(nonces, r[len(r)-12:])
	}
	if bytes.Contains(raw, []byte("secret-part")) || bytes.Equal(nonces[0], nonces[1]) {
		t.Fatal("token stored in clear or nonce reused")
	}
	if tok, err := reg.Token(ctx, b.ID); err != nil || tok.Reveal() != tokenTwo {
		t.Fatalf("Token: %v", err)
	}
	// Swapping ciphertexts between rows is detected (AAD binds the bot ID).
	if _, err := pool.Exec(ctx, `UPDATE agents SET token_ciphertext = (SELECT token_ciphertext FROM agents WHERE id = $1),
		token_nonce = (SELECT token_nonce FROM agents WHERE id = $1) WHERE id = $2`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Token(ctx, b.ID); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("swapped ciphertext decrypted: %v", err)
	}
	if err := reg.SetEnabled(ctx, a.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, err := reg.Lookup(ctx, "one"); err != nil || got.Enabled {
		t.Fatalf("after disable: %+v %v", got, err)
	}
	if got, _ := reg.Lookup(ctx, "222222222222222222"); got.ID != b.ID {
		t.Fatalf("lookup by bot user ID: %+v", got)
	}
	if err := reg.Remove(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{reg.Remove(ctx, b.ID), reg.SetEnabled(ctx, b.ID, true), func() error { _, err := reg.Lookup(ctx, "two"); return err }()} {
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing agent: %v", err)
		}
	}
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	pool, checker, _ := setup(t)
	ctx := context.Background()
	a, b := mustKey(t, keyA), mustKey(t, keyB)
	reg := NewRegistry(pool, a, checker)
	one, _ := reg.Add(ctx, "one", NewToken(tokenOne))
	two, _ := reg.Add(ctx, "two", NewToken(tokenTwo))
	if _, err := RotateKey(ctx, pool, b, a); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("rotate with the wrong old key: %v", err)
	}
	if _, err := RotateKey(ctx, pool, a, a); !errors.Is(err, ErrBadKey) {
		t.Fatalf("rotate to the same key: %v", err)
	}
	if tok, err := reg.Token(ctx, one.ID); err != nil || tok.Reveal() != tokenOne {
		t.Fatalf("a refused rotation changed something: %v", err)
	}
	n, err := reg.RotateKey(ctx, a, b)
	if err != nil || n != 2 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	if _, err := reg.Token(ctx, one.ID); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old key still decrypts: %v", err)
	}
	if _, err := reg.Add(ctx, "three", NewToken(tokenUser)); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("add with the old key: %v", err)
	}
	regB := NewRegistry(pool, b, checker)
	for id, want := range map[int64]string{one.ID: tokenOne, two.ID: tokenTwo} {
		if tok, err := regB.Token(ctx, id); err != nil || tok.Reveal() != want {
			t.Fatalf("agent %d under the new key: %v", id, err)
		}
	}
	agents, _ := regB.List(ctx)
	for _, ag := range agents {
		if ag.KeyVersion != 2 {
			t.Fatalf("key version %d after rotation", ag.KeyVersion)
		}
	}
	if err := regB.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateIsIdempotentAndSeparate(t *testing.T) {
	t.Parallel()
	pool, _, _ := setup(t)
	ctx := context.Background()
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := pool.QueryRow(ctx, `SELECT version FROM `+VersionTable).Scan(&v); err != nil || v != 1 {
		t.Fatalf("version table: %d %v", v, err)
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	_, checker, dsn := setup(t)
	ctx := context.Background()
	env := map[string]string{"POSTGRES_URL": dsn, "AGENT_TOKEN_KEY": keyA, "DISCORD_API_URL": checker.base.String()}
	run := func(stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := Command(ctx, args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
		all := out.String() + errOut.String()
		if err != nil {
			all += err.Error()
		}
		for _, secret := range []string{tokenOne, keyA, keyB} {
			if strings.Contains(all, secret) {
				t.Fatalf("agents %v printed a secret: %s", args, all)
			}
		}
		return out.String(), err
	}
	if out, err := run(tokenOne+"\n", "add", "-name", "one"); err != nil || !strings.Contains(out, "added agent") {
		t.Fatalf("add: %q %v", out, err)
	}
	if _, err := run(tokenOne, "add", "-name", "dup"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := run("", "add", "-name", "x"); err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("no token: %v", err)
	}
	if _, err := run(tokenTwo, "add"); !errors.Is(err, ErrUsage) {
		t.Fatalf("no name: %v", err)
	}
	if out, err := run("", "disable", "one"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("disable: %q %v", out, err)
	}
	if out, err := run("", "list"); err != nil || !strings.Contains(out, "one") || !strings.Contains(out, "false") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := run("", "frobnicate"); !errors.Is(err, ErrUsage) {
		t.Fatalf("unknown: %v", err)
	}
	if out, err := run(keyB+"\n", "rotate-key"); err != nil || !strings.Contains(out, "re-encrypted 1") {
		t.Fatalf("rotate: %q %v", out, err)
	}
	if _, err := run(tokenTwo, "add", "-name", "two"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("add with the rotated-away key: %v", err)
	}
	env["AGENT_TOKEN_KEY"] = keyB
	if out, err := run("", "remove", "one"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %q %v", out, err)
	}
	env["AGENT_TOKEN_KEY"] = "abc"
	if _, err := run(tokenTwo, "add", "-name", "two"); !errors.Is(err, ErrBadKey) {
		t.Fatalf("malformed key: %v", err)
	}
	delete(env, "AGENT_TOKEN_KEY")
	if _, err := run(tokenTwo, "add", "-name", "two"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("missing key: %v", err)
	}
}
