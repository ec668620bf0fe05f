package discordapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// TestEmbedsOmitAZeroTimestamp: an embed without a time is sent without
// "timestamp" (Discord's field is optional, not nullable), so discordsim,
// which refuses null as Discord does, accepts the message; a set time is
// sent as is.
func TestEmbedsOmitAZeroTimestamp(t *testing.T) {
	sim, err := discordsim.New(discordsim.Config{Guilds: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); sim.Close() })
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	base, err := discordapi.ParseBase(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := discordapi.NewClient(sim.Token(), base, nil)
	channel, _ := sim.TextChannel(sim.Guilds()[0].ID)
	when := discord.NewTimestamp(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for _, tt := range []struct {
		name  string
		embed discord.Embed
	}{
		{"no time", discord.Embed{Title: "balance", Description: "100"}},
		{"a time", discord.Embed{Title: "balance", Timestamp: when}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := client.SendMessage(discord.ChannelID(channel), "", tt.embed)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if len(msg.Embeds) != 1 || msg.Embeds[0].Timestamp.IsValid() != tt.embed.Timestamp.IsValid() {
				t.Errorf("stored embeds %+v", msg.Embeds)
			}
		})
	}
}

// TestInteractionResponseEmbedsOmitAZeroTimestamp: the embeds of an
// interaction response (under "data") lose the null too, and nothing else
// of the body changes.
func TestInteractionResponseEmbedsOmitAZeroTimestamp(t *testing.T) {
	bodies := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)
	client := discordapi.NewClient("t", base, nil)
	err := client.RespondInteraction(1, "tok", api.InteractionResponse{
		Type: api.MessageInteractionWithSource,
		Data: &api.InteractionResponseData{Embeds: &[]discord.Embed{{Title: "a <b> & c", Color: 0x5865F2}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Type int `json:"type"`
		Data struct {
			Embeds []map[string]any `json:"embeds"`
		} `json:"data"`
	}
	if err := json.Unmarshal(<-bodies, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Data.Embeds) != 1 {
		t.Fatalf("embeds %v", got.Data.Embeds)
	}
	e := got.Data.Embeds[0]
	if _, ok := e["timestamp"]; ok {
		t.Errorf("timestamp sent: %v", e)
	}
	if e["title"] != "a <b> & c" || e["color"] != float64(0x5865F2) || got.Type != 4 {
		t.Errorf("body changed: type %d, embed %v", got.Type, e)
	}
}
