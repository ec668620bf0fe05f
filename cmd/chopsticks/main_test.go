package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestCommandLine(t *testing.T) {
	pg := servertest.Postgres(t)
	etcd := strings.Join(servertest.Etcd(t), ",")
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, nil, 2, "", "usage: chopsticks"},
		{"unknown command", []string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, nil, 0, "chopsticks dev", ""},
		{"migrate needs a URL", []string{"migrate"}, nil, 2, "", "POSTGRES_URL: is required"},
		{"migrate refuses a bad URL", []string{"migrate", "-postgres-url", "postgres://%zz"}, nil, 2, "", "cannot be parsed"},
		{"migrate unreachable", []string{"migrate"}, map[string]string{"POSTGRES_URL": "postgres://u@127.0.0.1:1/x?connect_timeout=1"}, 2, "", "POSTGRES_URL: cannot connect"},
		{"migrate", []string{"migrate"}, map[string]string{"POSTGRES_URL": pg}, 0, "schema up to date", ""},
		{"migrate again is a no-op", []string{"migrate", "-postgres-url", pg}, nil, 0, "schema up to date", ""},
		{"status needs etcd", []string{"status"}, nil, 2, "", "ETCD_ENDPOINTS: is required"},
		{"status refuses what the node refuses", []string{"status", "-etcd-endpoints", "127.0.0.1:2379"}, nil, 2, "", `ETCD_ENDPOINTS: "127.0.0.1:2379" is not an http(s) URL`},
		{"status of an empty cluster", []string{"status"}, map[string]string{"ETCD_ENDPOINTS": etcd}, 0, "leader: (none)", ""},
		{"status as JSON", []string{"status", "-json", "-etcd-endpoints", etcd}, nil, 0, `"nodes"`, ""},
		{"bad flag", []string{"status", "-nope"}, nil, 2, "", "flag provided but not defined"},
		{"commands needs deploy", []string{"commands"}, nil, 2, "", "usage: chopsticks commands deploy"},
		{"commands deploy refuses a bad client ID", []string{"commands", "deploy", "-discord-token", "x", "-client-id", "abc"}, nil, 2, "", "CLIENT_ID: must be the numeric application ID"},
		{"commands deploy needs a token", []string{"commands", "deploy", "-client-id", "1"}, nil, 2, "", "DISCORD_TOKEN: is required"},
		{"commands deploy refuses a bad guild", []string{"commands", "deploy", "-discord-token", "x", "-client-id", "1", "-guild", "abc"}, nil, 2, "", "--guild"},
		{"agents add takes the name once", []string{"agents", "add", "a", "-name", "b"}, nil, 2, "", "give the name once"},
		{"agents add needs a database", []string{"agents", "add", "NAME"}, nil, 2, "", "POSTGRES_URL is required"},
		{"sandbox refuses too many nodes", []string{"sandbox", "--nodes", "20"}, nil, 2, "", "--nodes must be between 1 and 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"POSTGRES_URL", "ETCD_ENDPOINTS", "DISCORD_TOKEN", "CLIENT_ID", "GUILD_ID"} {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}
